package dev.pep.core;

/** How a {@link Subject} proved who it is. */
public enum AuthenticationMethod {
    /** No credential was presented; only apps open to everyone admit it. */
    NONE,
    /** An OIDC login through the partner's identity provider. */
    OIDC,
    /** A bearer JWT from a trusted issuer. */
    BEARER,
    /** A client certificate from a trusted partner CA. */
    CLIENT_CERTIFICATE,
    /** A user of the gateway's local user directory. */
    LOCAL
}
