package dev.pep.policy.authzen;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.Decision;
import dev.pep.core.PolicyEngine;
import dev.pep.policy.DefaultPolicyEngine;
import java.net.UnknownHostException;
import java.time.format.DateTimeParseException;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of the AuthZEN evaluation endpoint ({@code POST /access/v1/evaluation}) as a
 * pure function over any {@link PolicyEngine}, for the gateway to mount on its admin listener.
 *
 * <p>Thread-safe. A request that cannot be read is answered {@code "decision": false} with
 * reason {@code invalid_request}, never an allow. Calls {@link PolicyEngine#decide}, so it may
 * block as long as the engine does.
 */
public final class AuthZenEndpoint {

    /** The path the endpoint is mounted at, by the AuthZEN Authorization API. */
    public static final String PATH = "/access/v1/evaluation";
    /** The reason code of a request the endpoint could not read. */
    public static final String INVALID_REQUEST = "invalid_request";

    private static final Logger LOG = LoggerFactory.getLogger(AuthZenEndpoint.class);

    private final PolicyEngine engine;
    private final Function<String, Optional<App>> apps;

    /**
     * An endpoint over an engine.
     *
     * @param engine decides
     * @param apps resolves an app name to the gateway's app; an unknown name makes a
     *     placeholder app, which the built-in engine denies as {@code unknown_app}
     */
    public AuthZenEndpoint(PolicyEngine engine, Function<String, Optional<App>> apps) {
        this.engine = Objects.requireNonNull(engine, "engine");
        this.apps = Objects.requireNonNull(apps, "apps");
    }

    /** An endpoint over the built-in engine, resolving apps by its running version. */
    public static AuthZenEndpoint over(DefaultPolicyEngine engine) {
        return new AuthZenEndpoint(engine, name -> engine.apps().stream()
                .filter(app -> app.name().equals(name)).findFirst());
    }

    /**
     * Evaluates one request.
     *
     * @param requestJson the body of an AuthZEN evaluation request
     * @return the body of the evaluation response
     */
    public String evaluate(String requestJson) {
        AccessRequest request;
        try {
            JsonNode body = AuthZenCodec.JSON.readTree(requestJson);
            request = AuthZenCodec.accessRequest(body, apps);
        } catch (JsonProcessingException | IllegalArgumentException | NullPointerException
                | DateTimeParseException | UnknownHostException e) {
            LOG.debug("authzen request refused error={}", e.toString());
            return invalid(e.getMessage());
        }
        Decision decision = engine.decide(request);
        return AuthZenCodec.response(decision).toString();
    }

    private static String invalid(String why) {
        var body = AuthZenCodec.JSON.createObjectNode();
        body.put("decision", false);
        var reason = body.putObject("context").putArray("reasons").addObject();
        reason.put("code", INVALID_REQUEST).put("message", "the request could not be read");
        body.with("context").put("error", String.valueOf(why));
        return body.toString();
    }
}
