package dev.pep.proxy.server;

import dev.pep.core.AccessRequest;
import dev.pep.core.AuthenticationResult;
import dev.pep.core.Credentials;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.DevicePosture;
import dev.pep.core.Subject;
import dev.pep.proxy.route.Route;
import dev.pep.proxy.session.LiveSession;
import dev.pep.proxy.session.SessionKind;
import dev.pep.proxy.session.Redecider;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides a live session again the way its request was decided: route its host, authenticate
 * its credentials as of now, assess its device, ask the engine in force. A subject who was
 * signed in and no longer is (logout, revocation, expiry) is denied without asking the engine.
 */
final class GatewayRedecider implements Redecider {

    /** The app is gone from the policy, or its host now routes elsewhere. */
    static final String APP_REMOVED = "app_removed";
    /** The credential that admitted the session no longer authenticates its subject. */
    static final String AUTHENTICATION_ENDED = "authentication_ended";

    private final GatewayContext gw;

    GatewayRedecider(GatewayContext gw) {
        this.gw = gw;
    }

    @Override
    public CompletionStage<Decision> redecide(LiveSession session, Instant now) {
        AccessRequest before = session.admitted();
        Route route = gw.router().route(before.request().host()).orElse(null);
        if (route == null || !route.app().name().equals(session.app())) {
            return denied(DecisionReason.of(APP_REMOVED, "the application is no longer served here"));
        }
        Credentials credentials = at(session.credentials(), now);
        AuthenticationResult auth = gw.identity.authenticate(credentials);
        Subject subject = auth instanceof AuthenticationResult.Authenticated ok ? ok.subject()
                : Subject.anonymous();
        if (subject.isAnonymous() && !before.subject().isAnonymous()) {
            String why = auth instanceof AuthenticationResult.Rejected r ? r.reason().code() : "not_presented";
            return denied(DecisionReason.of(AUTHENTICATION_ENDED, "the sign-in ended: " + why));
        }
        CompletionStage<Decision> decided = posture(subject, credentials, route).thenCompose(device -> gw.engine()
                .decideAsync(new AccessRequest(subject, device, route.app(), before.request(), before.source(), now,
                        session.id())));
        // A TCP session cannot take up obligations a new allow brings that a byte stream cannot honour.
        return session.kind() == SessionKind.TCP ? decided.thenApply(TcpSession::enforced) : decided;
    }

    private CompletionStage<DevicePosture> posture(Subject subject, Credentials credentials, Route route) {
        if (gw.posture == null) {
            return CompletableFuture.completedFuture(DevicePosture.unknown());
        }
        return gw.posture.assess(subject, credentials, route.app().name())
                .thenApply(a -> a == null ? DevicePosture.unknown() : a.posture());
    }

    private CompletionStage<Decision> denied(DecisionReason reason) {
        return CompletableFuture.completedFuture(Decision.deny(gw.engine().version(), reason));
    }

    private static Credentials at(Credentials c, Instant now) {
        return new Credentials(c.host(), c.headers(), c.peerCertificates(), c.tlsFingerprint(),
                c.source(), now);
    }
}
