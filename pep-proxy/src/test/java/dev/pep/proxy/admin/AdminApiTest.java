package dev.pep.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AdminApiTest {

    static final String TOKEN = AdminTokensTest.ALICE;

    @TempDir
    Path dir;

    final List<String> audited = new ArrayList<>();
    AdminApi api;

    @BeforeEach
    void setUp() throws Exception {
        AdminTokens tokens = AdminTokens.read(Files.writeString(dir.resolve("t"), "alice " + TOKEN + "\n"));
        api = new AdminApi(tokens, (req, res) -> audited.add(req.operator() + " " + req.method() + " "
                + req.path() + " " + res.status()));
        api.register("GET", "/api/v1/sessions", r -> done(AdminResponse.ok(Map.of("asked_by", r.operator()))));
        api.register("DELETE", "/api/v1/sessions/*", r -> done(AdminResponse.ok(Map.of("ended", r.rest()))));
        api.register("POST", "/api/v1/broken", r -> {
            throw new IllegalStateException("boom");
        });
    }

    @ParameterizedTest
    @CsvSource(nullValues = "null", value = {
        "null, 401, admin_unauthenticated",
        "Basic YWxpY2U6eA==, 401, admin_unauthenticated",
        "Bearer, 401, admin_unauthenticated",
        "Bearer wrong-token-wrong-token-wrong-token, 401, admin_unauthenticated",
    })
    void handle_withoutAValidToken_refusedAndNotAudited(String authorization, int status, String reason) {
        AdminResponse r = call("GET", "/api/v1/sessions", authorization);

        assertThat(r.status()).isEqualTo(status);
        assertThat(r.json()).contains("\"error\":\"" + reason + "\"");
        assertThat(audited).isEmpty();
    }

    @Test
    void handle_validToken_callsTheEndpointAsTheOperator_andAudits() {
        AdminResponse r = call("GET", "/api/v1/sessions", "bearer " + TOKEN);

        assertThat(r.status()).isEqualTo(200);
        assertThat(r.json()).isEqualTo("{\"asked_by\":\"alice\"}\n");
        assertThat(audited).containsExactly("alice GET /api/v1/sessions 200");
    }

    @Test
    void handle_prefixEndpoint_getsTheRestOfThePath() {
        AdminResponse r = call("DELETE", "/api/v1/sessions/s-42", "Bearer " + TOKEN);

        assertThat(r.json()).isEqualTo("{\"ended\":\"s-42\"}\n");
    }

    @Test
    void handle_unknownPathAndWrongMethod_404And405() {
        assertThat(call("GET", "/api/v1/nothing", "Bearer " + TOKEN).status()).isEqualTo(404);
        assertThat(call("POST", "/api/v1/sessions", "Bearer " + TOKEN).status()).isEqualTo(405);
        assertThat(call("DELETE", "/api/v1/sessions/", "Bearer " + TOKEN).status()).isEqualTo(404);
    }

    @Test
    void handle_endpointThrows_500WithReason_andAuditedAsFailed() {
        AdminResponse r = call("POST", "/api/v1/broken", "Bearer " + TOKEN);

        assertThat(r.status()).isEqualTo(500);
        assertThat(r.json()).contains("admin_internal_error").doesNotContain("boom");
        assertThat(audited).containsExactly("alice POST /api/v1/broken 500");
    }

    @Test
    void handle_noTokenFile_apiIsOff() {
        AdminApi off = new AdminApi(null, (req, res) -> audited.add("called"));
        off.register("GET", "/api/v1/sessions", r -> done(AdminResponse.ok("x")));

        AdminResponse r = off.handle("GET", "/api/v1/sessions", Map.of(), "Bearer " + TOKEN, "")
                .toCompletableFuture().join();

        assertThat(r.status()).isEqualTo(403);
        assertThat(r.json()).contains("admin_api_disabled");
        assertThat(audited).isEmpty();
    }

    @Test
    void register_outsideTheApiOrTwice_refused() {
        assertThatThrownBy(() -> api.register("GET", "/metrics", r -> null))
                .hasMessageContaining("outside /api/");
        assertThatThrownBy(() -> api.register("GET", "/api/v1/sessions", r -> null))
                .hasMessageContaining("registered twice: GET /api/v1/sessions");
    }

    private AdminResponse call(String method, String path, String authorization) {
        return api.handle(method, path, Map.of(), authorization, "").toCompletableFuture().join();
    }

    private static CompletableFuture<AdminResponse> done(AdminResponse r) {
        return CompletableFuture.completedFuture(r);
    }
}
