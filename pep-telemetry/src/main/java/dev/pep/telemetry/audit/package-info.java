/**
 * The audit pipeline: typed event factories ({@link dev.pep.telemetry.audit.AuditEvents}), the
 * canonical JSON encoding with its hash chain ({@link dev.pep.telemetry.audit.AuditJson}), the
 * durable spool and sinks behind {@link dev.pep.telemetry.audit.AuditPipeline}, and the chain
 * verifier behind {@code pep audit verify} ({@link dev.pep.telemetry.audit.AuditCommand}).
 *
 * <p>The schema is documented in {@code docs/audit-schema.md}.
 */
package dev.pep.telemetry.audit;
