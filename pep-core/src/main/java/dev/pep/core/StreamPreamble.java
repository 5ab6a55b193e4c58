package dev.pep.core;

/** What the clients of a TCP app may send in clear before their TLS handshake. */
public enum StreamPreamble {
    /** Nothing: the client's first bytes are its TLS ClientHello. */
    NONE,
    /**
     * PostgreSQL's: an SSLRequest (length 8, code 80877103) that the gateway answers with
     * {@code S} before the TLS handshake, as a PostgreSQL server does; libpq clients such as
     * {@code psql} negotiate TLS this way.
     */
    POSTGRES
}
