/**
 * The vocabulary of the gateway (records) and the contracts between its modules (interfaces).
 *
 * <p>Every value here is immutable and validated on construction: collections are copied, required
 * parts are non-null. pep-policy, pep-identity and pep-telemetry meet only through these types.
 */
package dev.pep.core;
