/**
 * The strict HTTP request front of the gateway: {@link dev.pep.proxy.http.StrictHttpRequestDecoder}
 * frames HTTP/1.x requests, {@link dev.pep.proxy.http.RequestHead} gives HTTP/1 and HTTP/2 heads
 * one shape, {@link dev.pep.proxy.http.RequestCanonicalizer} makes the one canonical view that is
 * routed, decided and forwarded, and {@link dev.pep.proxy.http.ForwardHeaders} decides which
 * fields reach the application. The rules are in {@code docs/request-canonicalisation.md}.
 */
package dev.pep.proxy.http;
