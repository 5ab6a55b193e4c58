package dev.pep.identity.oidc;

import com.nimbusds.jose.util.JSONObjectUtils;
import java.text.ParseException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What a login in progress binds to the browser, sealed into the {@code __Host-pep_login}
 * cookie: the OAuth state, the OIDC nonce, the PKCE verifier and where to return.
 */
record LoginState(String provider, String state, String nonce, String codeVerifier,
        String returnTo, String app, String host, Instant createdAt) {

    LoginState {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(nonce, "nonce");
        Objects.requireNonNull(codeVerifier, "codeVerifier");
        Objects.requireNonNull(returnTo, "returnTo");
        Objects.requireNonNull(app, "app");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    String toJson() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("p", provider);
        out.put("s", state);
        out.put("n", nonce);
        out.put("v", codeVerifier);
        out.put("r", returnTo);
        out.put("a", app);
        out.put("h", host);
        out.put("t", createdAt.getEpochSecond());
        return JSONObjectUtils.toJSONString(out);
    }

    static LoginState fromJson(String json) throws ParseException {
        Map<String, Object> in = JSONObjectUtils.parse(json);
        try {
            return new LoginState(JSONObjectUtils.getString(in, "p"),
                    JSONObjectUtils.getString(in, "s"), JSONObjectUtils.getString(in, "n"),
                    JSONObjectUtils.getString(in, "v"), JSONObjectUtils.getString(in, "r"),
                    JSONObjectUtils.getString(in, "a"), JSONObjectUtils.getString(in, "h"),
                    Instant.ofEpochSecond(JSONObjectUtils.getLong(in, "t")));
        } catch (NullPointerException e) {
            throw new ParseException("login state incomplete", 0);
        }
    }
}
