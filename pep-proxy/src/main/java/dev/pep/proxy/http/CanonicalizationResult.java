package dev.pep.proxy.http;

/**
 * The outcome of {@link RequestCanonicalizer#canonicalize(RequestHead)}: either the one canonical
 * view of the request or the reason it was rejected.
 */
public sealed interface CanonicalizationResult permits CanonicalRequest, HttpRejection {
}
