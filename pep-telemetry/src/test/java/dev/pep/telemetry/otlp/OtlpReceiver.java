package dev.pep.telemetry.otlp;

import com.google.protobuf.InvalidProtocolBufferException;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest;
import io.opentelemetry.proto.collector.logs.v1.ExportLogsServiceResponse;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * An OTLP/HTTP receiver on loopback ({@code /v1/logs}, {@code /v1/traces}) that decodes every
 * request with the official opentelemetry-proto classes, as a collector does, and keeps them.
 * Its mode says how it answers; a request it cannot decode is answered 400 and recorded.
 */
public final class OtlpReceiver implements AutoCloseable {

    /** How the receiver answers. */
    public enum Mode { ACCEPT, UNAVAILABLE, PARTIAL }

    public final List<ExportLogsServiceRequest> logs = new CopyOnWriteArrayList<>();
    public final List<ExportTraceServiceRequest> traces = new CopyOnWriteArrayList<>();
    public final List<String> errors = new CopyOnWriteArrayList<>();
    public volatile Mode mode = Mode.ACCEPT;
    private volatile HttpServer server;
    private int port;

    private OtlpReceiver() {
    }

    /** Starts on a free loopback port. */
    public static OtlpReceiver start() throws IOException {
        OtlpReceiver r = new OtlpReceiver();
        r.listen();
        return r;
    }

    /** The URI of a path on this receiver, for example {@code /v1/logs}. */
    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** Stops listening, as a crashed collector: connections are refused. */
    public void stop() {
        HttpServer s = server;
        server = null;
        if (s != null) {
            s.stop(0);
        }
    }

    /** Listens again on the same port. */
    public void restart() throws IOException {
        listen();
    }

    @Override
    public void close() {
        stop();
    }

    private void listen() throws IOException {
        HttpServer s = HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        s.createContext("/v1/logs", this::logs);
        s.createContext("/v1/traces", this::traces);
        s.start();
        port = s.getAddress().getPort();
        server = s;
    }

    private void logs(HttpExchange exchange) throws IOException {
        byte[] body = exchange.getRequestBody().readAllBytes();
        if (!checkRequest(exchange)) {
            return;
        }
        try {
            ExportLogsServiceRequest request = ExportLogsServiceRequest.parseFrom(body);
            if (mode != Mode.ACCEPT && mode != Mode.PARTIAL) {
                answer(exchange, 503, new byte[0]);
                return;
            }
            logs.add(request);
            ExportLogsServiceResponse.Builder response = ExportLogsServiceResponse.newBuilder();
            if (mode == Mode.PARTIAL) {
                response.setPartialSuccess(ExportLogsPartialSuccess.newBuilder()
                        .setRejectedLogRecords(1).setErrorMessage("one record refused"));
            }
            answer(exchange, 200, response.build().toByteArray());
        } catch (InvalidProtocolBufferException e) {
            errors.add("logs: " + e.getMessage());
            answer(exchange, 400, new byte[0]);
        }
    }

    private void traces(HttpExchange exchange) throws IOException {
        byte[] body = exchange.getRequestBody().readAllBytes();
        if (!checkRequest(exchange)) {
            return;
        }
        try {
            ExportTraceServiceRequest request = ExportTraceServiceRequest.parseFrom(body);
            if (mode != Mode.ACCEPT) {
                answer(exchange, 503, new byte[0]);
                return;
            }
            traces.add(request);
            answer(exchange, 200, ExportTraceServiceResponse.getDefaultInstance().toByteArray());
        } catch (InvalidProtocolBufferException e) {
            errors.add("traces: " + e.getMessage());
            answer(exchange, 400, new byte[0]);
        }
    }

    private boolean checkRequest(HttpExchange exchange) throws IOException {
        String type = exchange.getRequestHeaders().getFirst("Content-Type");
        if (!"POST".equals(exchange.getRequestMethod()) || !"application/x-protobuf".equals(type)) {
            errors.add("unexpected " + exchange.getRequestMethod() + " " + type);
            answer(exchange, 415, new byte[0]);
            return false;
        }
        return true;
    }

    private static void answer(HttpExchange exchange, int status, byte[] body) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
        exchange.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        if (body.length > 0) {
            exchange.getResponseBody().write(body);
        }
        exchange.close();
    }
}
