package dev.pep.identity;

import dev.pep.core.DecisionReason;
import java.util.Map;
import java.util.Set;

/**
 * The reason codes of pep-identity: stable lower_snake_case codes, part of the audit schema (never
 * renamed, only added), each with a short phrase that is safe to show a partner.
 */
public final class IdentityReasons {

    /** The token is not a well-formed signed JWT (or is encrypted or nested). */
    public static final String TOKEN_MALFORMED = "token_malformed";
    /** The token is larger than the configured limit. */
    public static final String TOKEN_TOO_LARGE = "token_too_large";
    /** The token's {@code exp} has passed (beyond the allowed clock skew). */
    public static final String TOKEN_EXPIRED = "token_expired";
    /** The token's {@code nbf} or {@code iat} lies in the future (beyond the allowed skew). */
    public static final String TOKEN_NOT_YET_VALID = "token_not_yet_valid";
    /** The signature does not verify with the issuer's key. */
    public static final String TOKEN_INVALID_SIGNATURE = "token_invalid_signature";
    /** The token's {@code alg} is not on the issuer's allowlist (including {@code none}). */
    public static final String TOKEN_ALGORITHM_NOT_ALLOWED = "token_algorithm_not_allowed";
    /** The token's {@code typ} is not the configured one, or it is an ID token. */
    public static final String TOKEN_TYPE_MISMATCH = "token_type_mismatch";
    /** A claim the issuer must send is missing or has the wrong type. */
    public static final String TOKEN_CLAIMS_MISSING = "token_claims_missing";
    /** The token's {@code iss} is not a configured issuer. */
    public static final String UNKNOWN_ISSUER = "unknown_issuer";
    /** The token's {@code kid} is not in the issuer's key set. */
    public static final String UNKNOWN_KEY = "unknown_key";
    /** The issuer's key set could not be refreshed for longer than the stale window. */
    public static final String KEYS_STALE = "keys_stale";
    /** The issuer's key set has never been fetched successfully. */
    public static final String KEYS_UNAVAILABLE = "keys_unavailable";
    /** The token is not meant for this gateway or app. */
    public static final String AUDIENCE_MISMATCH = "audience_mismatch";
    /** The session cookie is malformed, tampered with or sealed with an unknown key. */
    public static final String COOKIE_INVALID = "cookie_invalid";
    /** The session cookie was issued for another app or host. */
    public static final String COOKIE_AUDIENCE_MISMATCH = "cookie_audience_mismatch";
    /** The session passed its idle or absolute expiry. */
    public static final String SESSION_EXPIRED = "session_expired";
    /** The session was revoked (logout, back-channel logout, admin). */
    public static final String SESSION_REVOKED = "session_revoked";
    /** The login callback came without a valid login-state cookie, or with another state. */
    public static final String LOGIN_STATE_INVALID = "login_state_invalid";
    /** The login state was already used once. */
    public static final String LOGIN_STATE_REPLAYED = "login_state_replayed";
    /** The login took longer than the login-state lifetime. */
    public static final String LOGIN_STATE_EXPIRED = "login_state_expired";
    /** The identity provider answered the login with an error. */
    public static final String LOGIN_FAILED = "login_failed";
    /** The authorization response names another issuer (RFC 9207 mix-up defence). */
    public static final String ISSUER_MISMATCH = "issuer_mismatch";
    /** The code could not be exchanged at the token endpoint. */
    public static final String TOKEN_EXCHANGE_FAILED = "token_exchange_failed";
    /** The ID token failed validation (signature, iss, aud, azp, exp, nonce). */
    public static final String ID_TOKEN_INVALID = "id_token_invalid";
    /** The back-channel logout token failed validation. */
    public static final String LOGOUT_TOKEN_INVALID = "logout_token_invalid";
    /** User name or password wrong (never says which). */
    public static final String CREDENTIALS_INVALID = "credentials_invalid";
    /** The client certificate does not chain to a CA trusted for this app. */
    public static final String CERTIFICATE_UNTRUSTED = "certificate_untrusted";
    /** The client certificate was revoked by its CA. */
    public static final String CERTIFICATE_REVOKED = "certificate_revoked";
    /** The client certificate, or one of its CAs, is past its validity. */
    public static final String CERTIFICATE_EXPIRED = "certificate_expired";
    /** The client certificate, or one of its CAs, is not valid yet. */
    public static final String CERTIFICATE_NOT_YET_VALID = "certificate_not_yet_valid";
    /** The client certificate's key usages do not allow TLS client authentication. */
    public static final String CERTIFICATE_WRONG_USAGE = "certificate_wrong_usage";
    /** The chain breaks the rules for CAs (not a CA, path length, name constraints). */
    public static final String CERTIFICATE_CHAIN_INVALID = "certificate_chain_invalid";
    /** Revocation is checked but no current CRL is at hand for a CA of the chain. */
    public static final String CERTIFICATE_REVOCATION_UNKNOWN = "certificate_revocation_unknown";
    /** The client certificate lacks the fields the subject mapping needs. */
    public static final String CERTIFICATE_UNMAPPED = "certificate_unmapped";
    /** Too many never-seen tokens needed a signature check this second; try again shortly. */
    public static final String TOO_MANY_TOKEN_CHECKS = "too_many_token_checks";
    /** The identity provider could not be reached, or did not answer in time. */
    public static final String PROVIDER_UNAVAILABLE = "provider_unavailable";
    /** The provider refused to refresh the session (revoked, user disabled): the session ended. */
    public static final String REFRESH_REFUSED = "refresh_refused";
    /** The provider's token ran out and could not be refreshed in time: the session ended. */
    public static final String REFRESH_FAILED = "refresh_failed";
    /** An internal failure while authenticating; the request is denied. */
    public static final String IDENTITY_ERROR = "identity_error";

    private static final Map<String, String> MESSAGES = Map.ofEntries(
            Map.entry(TOKEN_MALFORMED, "the access token is malformed"),
            Map.entry(TOKEN_TOO_LARGE, "the access token is too large"),
            Map.entry(TOKEN_EXPIRED, "the access token has expired"),
            Map.entry(TOKEN_NOT_YET_VALID, "the access token is not valid yet"),
            Map.entry(TOKEN_INVALID_SIGNATURE, "the access token signature is invalid"),
            Map.entry(TOKEN_ALGORITHM_NOT_ALLOWED, "the access token algorithm is not accepted"),
            Map.entry(TOKEN_TYPE_MISMATCH, "the token is not an access token"),
            Map.entry(TOKEN_CLAIMS_MISSING, "the access token lacks required claims"),
            Map.entry(UNKNOWN_ISSUER, "the token issuer is not trusted"),
            Map.entry(UNKNOWN_KEY, "the token was signed with an unknown key"),
            Map.entry(KEYS_STALE, "the issuer's keys could not be refreshed"),
            Map.entry(KEYS_UNAVAILABLE, "the issuer's keys are not available"),
            Map.entry(AUDIENCE_MISMATCH, "the token is not meant for this service"),
            Map.entry(COOKIE_INVALID, "the session is invalid, please sign in again"),
            Map.entry(COOKIE_AUDIENCE_MISMATCH, "the session belongs to another application"),
            Map.entry(SESSION_EXPIRED, "the session has expired, please sign in again"),
            Map.entry(SESSION_REVOKED, "the session was ended, please sign in again"),
            Map.entry(LOGIN_STATE_INVALID, "the sign-in could not be matched, please retry"),
            Map.entry(LOGIN_STATE_REPLAYED, "the sign-in was already completed"),
            Map.entry(LOGIN_STATE_EXPIRED, "the sign-in took too long, please retry"),
            Map.entry(LOGIN_FAILED, "the identity provider refused the sign-in"),
            Map.entry(ISSUER_MISMATCH, "the sign-in came from an unexpected provider"),
            Map.entry(TOKEN_EXCHANGE_FAILED, "the sign-in could not be completed"),
            Map.entry(ID_TOKEN_INVALID, "the identity provider's answer was invalid"),
            Map.entry(LOGOUT_TOKEN_INVALID, "the logout token is invalid"),
            Map.entry(CREDENTIALS_INVALID, "user name or password is wrong"),
            Map.entry(CERTIFICATE_UNTRUSTED, "the client certificate is not trusted"),
            Map.entry(CERTIFICATE_REVOKED, "the client certificate was revoked"),
            Map.entry(CERTIFICATE_EXPIRED, "the client certificate has expired"),
            Map.entry(CERTIFICATE_NOT_YET_VALID, "the client certificate is not valid yet"),
            Map.entry(CERTIFICATE_WRONG_USAGE, "the client certificate is not for client authentication"),
            Map.entry(CERTIFICATE_CHAIN_INVALID, "the client certificate's chain is invalid"),
            Map.entry(CERTIFICATE_REVOCATION_UNKNOWN, "the client certificate's revocation status is unknown"),
            Map.entry(CERTIFICATE_UNMAPPED, "the client certificate lacks identity fields"),
            Map.entry(TOO_MANY_TOKEN_CHECKS, "too many new tokens right now, try again shortly"),
            Map.entry(PROVIDER_UNAVAILABLE, "the identity provider cannot be reached, try again shortly"),
            Map.entry(REFRESH_REFUSED, "the identity provider ended the sign-in, please sign in again"),
            Map.entry(REFRESH_FAILED, "the sign-in could not be renewed, please sign in again"),
            Map.entry(IDENTITY_ERROR, "authentication failed"));

    private IdentityReasons() {
    }

    /** The reason for a code of this class, with its partner-safe phrase. */
    public static DecisionReason of(String code) {
        String message = MESSAGES.get(code);
        if (message == null) {
            throw new IllegalArgumentException("not an identity reason code: " + code);
        }
        return DecisionReason.of(code, message);
    }

    /** All codes of this class, for tests and documentation. */
    public static Set<String> codes() {
        return MESSAGES.keySet();
    }
}
