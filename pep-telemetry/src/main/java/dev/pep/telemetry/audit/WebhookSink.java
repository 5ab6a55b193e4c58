package dev.pep.telemetry.audit;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * POSTs batches of events as JSON lines ({@code application/x-ndjson}) to an HTTP endpoint.
 *
 * <p>A 2xx answer delivers the batch; anything else, a timeout or a connection failure is
 * retried by the pipeline. A retried batch carries the same events, so receivers de-duplicate by
 * event {@code id}; the {@code Idempotency-Key} header (first and last seq of the batch, with the
 * first event's id) lets a receiver drop a repeated batch whole. Header values (for example an
 * Authorization for the receiver) are sent but never logged.
 */
public final class WebhookSink implements DeliverySink {

    private final String name;
    private final URI endpoint;
    private final Duration timeout;
    private final Map<String, String> headers;
    private final HttpClient client;

    /**
     * A sink named {@code name} posting to {@code endpoint}.
     *
     * @param timeout the longest a batch may take, connect included
     * @param headers extra request headers, for example the receiver's credentials
     */
    public WebhookSink(String name, URI endpoint, Duration timeout, Map<String, String> headers) {
        this.name = Objects.requireNonNull(name, "name");
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        String scheme = endpoint.getScheme();
        if (!"https".equals(scheme) && !"http".equals(scheme)) {
            throw new IllegalArgumentException("webhook endpoint must be http or https: "
                    + endpoint);
        }
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.headers = Map.copyOf(headers);
        this.client = HttpClient.newBuilder().connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void deliver(List<SpooledEvent> batch) throws IOException {
        StringBuilder body = new StringBuilder();
        batch.forEach(e -> body.append(e.json()).append('\n'));
        SpooledEvent first = batch.get(0);
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoint)
                .timeout(timeout)
                .header("Content-Type", "application/x-ndjson")
                .header("Idempotency-Key", first.seq() + "-" + batch.get(batch.size() - 1).seq()
                        + "-" + first.id())
                .POST(HttpRequest.BodyPublishers.ofString(body.toString(),
                        StandardCharsets.UTF_8));
        headers.forEach(request::header);
        HttpResponse<Void> response;
        try {
            response = client.send(request.build(), HttpResponse.BodyHandlers.discarding());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted posting to " + endpoint, e);
        }
        if (response.statusCode() / 100 != 2) {
            throw new IOException("webhook " + endpoint + " answered " + response.statusCode());
        }
    }
}
