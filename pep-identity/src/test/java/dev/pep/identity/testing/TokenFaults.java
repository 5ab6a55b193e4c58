package dev.pep.identity.testing;

import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.http.OAuth2HttpRequest;
import no.nav.security.mock.oauth2.http.OAuth2HttpResponse;
import no.nav.security.mock.oauth2.http.Route;
import okhttp3.Headers;

/**
 * A route put in front of mock-oauth2-server's token endpoint ({@code new MockOAuth2Server(faults)})
 * that answers the next token requests of one grant type as a test queued them: a status and a
 * body (a refusal, a server error), or nothing for a while (a provider that hangs). Requests with
 * nothing queued go to the mock as usual. Thread-safe.
 */
public final class TokenFaults implements Route {

    private final Queue<Fault> queued = new ConcurrentLinkedQueue<>();
    private volatile CountDownLatch release = new CountDownLatch(1);

    /** The next token request of {@code grantType} is answered with this status and JSON body. */
    public TokenFaults answer(String grantType, int status, String json) {
        queued.add(new Fault(grantType, status, json, Duration.ZERO));
        return this;
    }

    /** The next token request of {@code grantType} gets no answer for {@code hang}. */
    public TokenFaults hang(String grantType, Duration hang) {
        queued.add(new Fault(grantType, 504, "{}", hang));
        return this;
    }

    /** The next refresh is refused as a provider refuses a revoked grant or a disabled user. */
    public TokenFaults refuseRefresh() {
        return answer("refresh_token", 400,
                "{\"error\":\"invalid_grant\",\"error_description\":\"User disabled\"}");
    }

    /** Drops whatever is still queued and ends the hangs under way, so the mock can stop. */
    public void clear() {
        queued.clear();
        CountDownLatch hanging = release;
        release = new CountDownLatch(1);
        hanging.countDown();
    }

    @Override
    public boolean match(OAuth2HttpRequest request) {
        Fault next = queued.peek();
        return next != null && "POST".equals(request.getMethod())
                && request.getUrl().encodedPath().endsWith("/token")
                && next.grantType().equals(request.getFormParameters().get("grant_type"));
    }

    @Override
    public OAuth2HttpResponse invoke(OAuth2HttpRequest request) {
        Fault fault = queued.poll();
        if (fault == null) {
            return new OAuth2HttpResponse(Headers.of(), 500, "{}", null);
        }
        if (!fault.hang().isZero()) {
            try {
                release.await(fault.hang().toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return new OAuth2HttpResponse(Headers.of("Content-Type", "application/json"), fault.status(),
                fault.json(), null);
    }

    private record Fault(String grantType, int status, String json, Duration hang) {
    }
}
