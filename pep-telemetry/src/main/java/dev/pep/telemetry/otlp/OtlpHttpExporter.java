package dev.pep.telemetry.otlp;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Posts OTLP export requests, binary protobuf over HTTP ({@code application/x-protobuf}), as the
 * OTLP/HTTP specification describes: 2xx is success, anything else a failure the caller may
 * retry; a success can still report a partial rejection, which must not be retried.
 *
 * <p>Thread-safe. Header values (a collector's credentials) are sent, never shown in messages.
 */
public final class OtlpHttpExporter {

    private final URI endpoint;
    private final String shown;
    private final Duration timeout;
    private final Map<String, String> headers;
    private final HttpClient client;

    /**
     * An exporter posting to {@code endpoint}, for example
     * {@code http://collector:4318/v1/logs}.
     *
     * @param timeout the longest one export may take, connect included
     * @param headers extra request headers, for example the collector's credentials
     */
    public OtlpHttpExporter(URI endpoint, Duration timeout, Map<String, String> headers) {
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        String scheme = endpoint.getScheme();
        if (!"https".equals(scheme) && !"http".equals(scheme)) {
            throw new IllegalArgumentException("OTLP endpoint must be http or https, not " + scheme);
        }
        this.shown = scheme + "://" + endpoint.getHost()
                + (endpoint.getPort() < 0 ? "" : ":" + endpoint.getPort())
                + (endpoint.getRawPath() == null ? "" : endpoint.getRawPath());
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.headers = Map.copyOf(headers);
        this.client = HttpClient.newBuilder().connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /** The endpoint without user info or query, for messages. */
    public String shown() {
        return shown;
    }

    /**
     * Posts one export request and returns how many items the receiver rejected in a partial
     * success (0 when all were accepted).
     *
     * @throws IOException when the receiver did not accept the request; the caller may retry
     */
    public PartialSuccess export(byte[] body) throws IOException {
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint)
                .timeout(timeout)
                .header("Content-Type", "application/x-protobuf")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body));
        headers.forEach(request::header);
        HttpResponse<byte[]> response;
        try {
            response = client.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted exporting to " + shown, e);
        }
        if (response.statusCode() / 100 != 2) {
            throw new IOException("OTLP receiver " + shown + " answered " + response.statusCode());
        }
        return PartialSuccess.decode(response.body());
    }

    /**
     * The {@code partial_success} of an export response (field 1 of every
     * {@code Export*ServiceResponse}): how many items were rejected, and why.
     *
     * @param rejected items the receiver refused; 0 when all were accepted
     * @param message the receiver's explanation, or empty
     */
    public record PartialSuccess(long rejected, String message) {

        /** Reads the response body; an empty or undecodable body means full success. */
        static PartialSuccess decode(byte[] body) {
            try {
                ProtoReader response = new ProtoReader(body);
                while (response.next()) {
                    if (response.field() == 1 && response.isLengthDelimited()) {
                        return fromMessage(new ProtoReader(response.bytes()));
                    }
                    response.skip();
                }
            } catch (IllegalArgumentException e) {
                // A receiver that answers 2xx accepted the data; its body is advisory only.
            }
            return new PartialSuccess(0, "");
        }

        private static PartialSuccess fromMessage(ProtoReader partial) {
            long rejected = 0;
            String message = "";
            while (partial.next()) {
                if (partial.field() == 1 && !partial.isLengthDelimited()) {
                    rejected = partial.varint();
                } else if (partial.field() == 2 && partial.isLengthDelimited()) {
                    message = new String(partial.bytes(), java.nio.charset.StandardCharsets.UTF_8);
                } else {
                    partial.skip();
                }
            }
            return new PartialSuccess(rejected, message);
        }
    }
}
