package dev.pep.it;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket through the gateway to {@link WebSocketEchoServer}: texts echoed back, and how it
 * ended ({@code "CODE REASON"}, or {@code "error ..."}).
 */
final class EchoSocket implements WebSocket.Listener {

    final BlockingQueue<String> texts = new LinkedBlockingQueue<>();
    final CompletableFuture<String> closed = new CompletableFuture<>();
    WebSocket socket;

    /** Opens {@code wss://APP.pep.localhost:PORT/...} with {@code cookie} when it is not null. */
    static EchoSocket open(HttpClient client, int port, String app, String cookie) throws Exception {
        return open(client, port, app, "Cookie", cookie);
    }

    /** Opens {@code wss://APP.pep.localhost:PORT/...} with the header {@code name} when {@code value} is not null. */
    static EchoSocket open(HttpClient client, int port, String app, String name, String value) throws Exception {
        EchoSocket s = new EchoSocket();
        WebSocket.Builder b = client.newWebSocketBuilder();
        if (value != null) {
            b.header(name, value);
        }
        s.socket = b.buildAsync(URI.create("wss://" + app + ".pep.localhost:" + port
                + WebSocketEchoServer.PATH), s).get(20, TimeUnit.SECONDS);
        return s;
    }

    /** Sends {@code text} and returns what came back, null after 10 s. */
    String echo(String text) throws Exception {
        socket.sendText(text, true).get(10, TimeUnit.SECONDS);
        return texts.poll(10, TimeUnit.SECONDS);
    }

    @Override
    public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
        texts.add(data.toString());
        webSocket.request(1);
        return null;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
        closed.complete(statusCode + " " + reason);
        return null;
    }

    @Override
    public void onError(WebSocket webSocket, Throwable error) {
        closed.complete("error " + error);
    }
}
