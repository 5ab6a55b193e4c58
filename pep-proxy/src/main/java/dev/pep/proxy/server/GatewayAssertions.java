package dev.pep.proxy.server;

import dev.pep.core.Decision;
import dev.pep.core.Obligation;
import dev.pep.core.Subject;
import dev.pep.identity.assertion.SubjectAssertionSigner;
import dev.pep.proxy.config.GatewayConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The identity assertions the gateway sends apps: where their keys are kept, where their public
 * keys are published, and how an {@link Obligation.IdentityAssertion} becomes a header.
 *
 * <p>The key file is {@code assertion-keys.jwks} beside the session key file, so instances that
 * share session keys share assertion keys too. Thread-safe.
 */
final class GatewayAssertions {

    private static final Logger LOG = LoggerFactory.getLogger(GatewayAssertions.class);

    /** The path of the public key set on every app host of the partner listener. */
    static final String PARTNER_JWKS_PATH = "/.pep/jwks.json";
    /** The path of the public key set on the admin listener. */
    static final String ADMIN_JWKS_PATH = "/.well-known/jwks.json";
    /** The {@code iss} of every assertion. */
    static final String ISSUER = "pep-gateway";
    static final String KEY_FILE = "assertion-keys.jwks";

    private final SubjectAssertionSigner signer;
    /** Signing costs about a millisecond when the signer's cache misses: never on an event loop. */
    private final ExecutorService signing = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "pep-assertions");
        t.setDaemon(true);
        return t;
    });

    private GatewayAssertions(SubjectAssertionSigner signer) {
        this.signer = signer;
    }

    /** Loads the keys, making the file with one key on first start. */
    static GatewayAssertions load(GatewayConfig config, Clock clock) throws IOException {
        Path file = keyFile(config);
        SubjectAssertionSigner signer = SubjectAssertionSigner.loadOrCreate(file, ISSUER, clock);
        LOG.info("assertion keys ready file={} signing_kid={} published={}", file, signer.keyId(),
                signer.keyIds().size());
        return new GatewayAssertions(signer);
    }

    /** Where the assertion keys of this configuration are kept. */
    static Path keyFile(GatewayConfig config) {
        String sessionKeys = config.identity() == null ? ".pep/session-keys" : config.identity().sessionKeys();
        return config.resolve(sessionKeys).resolveSibling(KEY_FILE);
    }

    /** The public key set, as JSON. */
    String jwksJson() {
        return signer.jwksJson();
    }

    /** The signing key's id, for the started line. */
    String keyId() {
        return signer.keyId();
    }

    /**
     * The obligations of {@code decision} ready for the app: as they are when it carries no
     * identity assertion (at once), otherwise rendered by {@link #render} on the signing threads.
     * The future fails when signing fails; the caller denies.
     */
    CompletableFuture<List<Obligation>> renderAsync(Decision decision, Subject subject, String app) {
        List<Obligation> obligations = decision.obligations();
        if (!decision.allowed()
                || obligations.stream().noneMatch(Obligation.IdentityAssertion.class::isInstance)) {
            return CompletableFuture.completedFuture(obligations);
        }
        return CompletableFuture.supplyAsync(() -> render(obligations, subject, app), signing);
    }

    /**
     * The obligations with every identity assertion turned into the header that carries it,
     * signed for {@code subject} and the app {@code app}.
     *
     * @throws IllegalStateException when signing fails; the caller denies
     */
    List<Obligation> render(List<Obligation> obligations, Subject subject, String app) {
        if (obligations.stream().noneMatch(Obligation.IdentityAssertion.class::isInstance)) {
            return obligations;
        }
        List<Obligation> out = new ArrayList<>(obligations.size());
        for (Obligation o : obligations) {
            if (o instanceof Obligation.IdentityAssertion a) {
                out.add(new Obligation.SetHeader(a.header(), signer.sign(subject, app, a.lifetime())));
            } else {
                out.add(o);
            }
        }
        return out;
    }
}
