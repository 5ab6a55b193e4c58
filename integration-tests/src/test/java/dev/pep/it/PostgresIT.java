package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real PostgreSQL server behind the packaged gateway as a TCP app with
 * {@code preamble: postgres}, reached by the real {@code psql}: libpq sends its SSLRequest in clear,
 * the gateway answers S, then TLS with SNI {@code db.pep.localhost}, the server certificate verified
 * ({@code sslmode=verify-full}) and a partner client certificate; the decrypted stream is spliced to
 * PostgreSQL, which checks the password itself.
 */
class PostgresIT {

    private static final String PASSWORD = "it-pg-secret-7f3a9c";
    private static final String POLICY = """
            apps:
              db:
                hosts: [db.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%1$d
                preamble: postgres
              undeclared:
                hosts: [undeclared.pep.localhost]
                protocol: tcp
                upstream: tcp://127.0.0.1:%1$d
            rules:
              - id: dbas
                apps: [db, undeclared]
                effect: allow
                when: >
                  subject.method == "client_certificate" && subject.id == "dba-1" &&
                  request.protocol == "TCP"
            """;

    @TempDir
    static Path dir;

    static PostgresServer postgres;
    static GatewayProcess gateway;
    static Path psql;

    @BeforeAll
    static void start() throws Exception {
        postgres = PostgresServer.start(PASSWORD);
        psql = postgres.bin().resolve("psql");
        TestCa partner = TestCa.create("Partner CA");
        partner.writePem(dir.resolve("partner-ca.pem"));
        client(partner, "dba", "dba-1");
        client(partner, "analyst", "analyst-7");
        client(TestCa.create("Rogue CA"), "rogue", "dba-1");
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/db.yaml"), POLICY.formatted(postgres.port()));
        String yaml = GatewayProcess.baseConfig("it-postgres") + """
                policy:
                  directory: policies
                identity:
                  session-keys: session-keys
                  client-certificates:
                    - ca-bundle: partner-ca.pem
                      hosts: ["*.pep.localhost"]
                audit:
                  directory: audit
                """;
        Path file = dir.resolve("gateway.yaml");
        Files.writeString(file, yaml);
        gateway = GatewayProcess.start(file);
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, postgres);
    }

    @Test
    void psql_verifyFullWithClientCertificate_reachesPostgres_andTheSessionIsAudited() throws Exception {
        ToolResult r = psql("db.pep.localhost", "dba", "select 'through the gateway' as greeting, current_user");

        assertThat(r.exitCode()).as(r + "\npostgres log:\n" + postgres.log()).isZero();
        assertThat(r.out()).contains("through the gateway|postgres");
        assertThat(postgres.log()).as("PostgreSQL saw the session, authenticated by its own password check")
                .contains("connection authorized: user=postgres");
        JsonNode decision = AuditFiles.events(audit(), "decision", "db").stream()
                .filter(e -> e.get("decision").get("effect").asText().equals("allow")).findFirst().orElseThrow();
        assertThat(decision.get("decision").get("rule").asText()).isEqualTo("dbas");
        assertThat(decision.get("actor").get("user").get("uid").asText()).isEqualTo("dba-1");
        assertThat(decision.get("http_request").get("http_method").asText()).isEqualTo("CONNECT");
        await().atMost(Duration.ofSeconds(10)).until(() -> !AuditFiles.ended(audit(), "db").isEmpty());
        JsonNode ended = AuditFiles.ended(audit(), "db").get(0);
        assertThat(ended.get("traffic").get("bytes_in").asLong()).isPositive();
        assertThat(ended.get("traffic").get("bytes_out").asLong()).isPositive();
    }

    @Test
    void psql_certificateOfAnUnknownCa_refused_certificateUntrusted_nothingReachesPostgres() throws Exception {
        int before = connectionsReceived();

        ToolResult r = psql("db.pep.localhost", "rogue", "select 1");

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> AuditFiles.denials(audit(), "db", "certificate_untrusted") >= 1);
        assertThat(connectionsReceived()).as("nothing reached PostgreSQL").isEqualTo(before);
    }

    @Test
    void psql_subjectNoRuleAllows_refused_noMatchingRule() throws Exception {
        int before = connectionsReceived();

        ToolResult r = psql("db.pep.localhost", "analyst", "select 1");

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> AuditFiles.denials(audit(), "db", "no_matching_rule") >= 1);
        assertThat(connectionsReceived()).isEqualTo(before);
    }

    @Test
    void psql_toATcpAppThatDoesNotDeclareThePreamble_closed_evenForAnAllowedSubject() throws Exception {
        int before = connectionsReceived();

        ToolResult r = psql("undeclared.pep.localhost", "dba", "select 1");

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(connectionsReceived()).isEqualTo(before);
        assertThat(AuditFiles.events(audit(), "decision", "undeclared")).as("closed before any decision").isEmpty();
    }

    @Test
    void psql_withoutTls_refused() throws Exception {
        int before = connectionsReceived();

        ToolResult r = run(List.of(psql.toString(), "host=db.pep.localhost hostaddr=127.0.0.1 port="
                + gateway.port() + " sslmode=disable user=postgres dbname=postgres connect_timeout=10",
                "-Atc", "select 1"));

        assertThat(r.exitCode()).as(r.toString()).isNotZero();
        assertThat(connectionsReceived()).isEqualTo(before);
    }

    // ---- helpers -------------------------------------------------------------------------

    /** psql as a partner runs it: SNI by host name, address by hostaddr, TLS verified in full. */
    private static ToolResult psql(String host, String client, String sql) throws Exception {
        String conninfo = "host=" + host + " hostaddr=127.0.0.1 port=" + gateway.port()
                + " sslmode=verify-full sslrootcert=" + gateway.devCa()
                + " sslcert=" + dir.resolve(client + ".pem") + " sslkey=" + dir.resolve(client + "-key.pem")
                + " user=postgres dbname=postgres connect_timeout=10";
        return run(List.of(psql.toString(), conninfo, "-Atc", sql));
    }

    private static ToolResult run(List<String> command) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("PGPASSWORD", PASSWORD);
        // No ~/.pgpass, service file or default certificates of the machine take part.
        pb.environment().put("PGPASSFILE", dir.resolve("no-pgpass").toString());
        pb.environment().put("PGSYSCONFDIR", dir.toString());
        pb.environment().put("HOME", dir.toString());
        return ToolResult.run(pb, new byte[0], Duration.ofSeconds(30));
    }

    /** Sessions PostgreSQL accepted a connection for, from its log. */
    private static int connectionsReceived() {
        return postgres.log().split("connection received:", -1).length - 1;
    }

    private static Path audit() {
        return dir.resolve("audit");
    }

    private static void client(TestCa ca, String name, String cn) throws Exception {
        Path key = dir.resolve(name + "-key.pem");
        ca.writeClient(cn, dir.resolve(name + ".pem"), key);
        // libpq refuses a private key that others may read.
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    }
}
