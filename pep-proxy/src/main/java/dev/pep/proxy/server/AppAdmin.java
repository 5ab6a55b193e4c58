package dev.pep.proxy.server;

import dev.pep.policy.AppDocument;
import dev.pep.policy.PolicyError;
import dev.pep.proxy.admin.AdminApi;
import dev.pep.proxy.admin.AdminRequest;
import dev.pep.proxy.admin.AdminResponse;
import dev.pep.proxy.apps.AppStore;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Apps on the admin API: {@code GET /api/v1/apps} lists every app (from the files and registered
 * at run time), {@code POST /api/v1/apps} registers one (a JSON app declaration with its name,
 * checked like a policy file's), {@code DELETE /api/v1/apps/NAME} removes a run-time one and ends
 * its sessions. Conflicts answer 409, bad declarations 400 with every error and its position.
 */
final class AppAdmin {

    static final String PATH = "/api/v1/apps";
    /** Where errors in a registration's body say they are. */
    private static final String BODY = "request body";

    private final EpisodicApps apps;

    private AppAdmin(EpisodicApps apps) {
        this.apps = apps;
    }

    /** Registers the endpoints on {@code api}. */
    // LIMITATION(L-771): no update in place; a changed app is deleted and registered again.
    static void register(AdminApi api, EpisodicApps apps) {
        AppAdmin admin = new AppAdmin(apps);
        api.register("GET", PATH, r -> CompletableFuture.completedFuture(admin.list()));
        api.register("POST", PATH, r -> CompletableFuture.completedFuture(admin.create(r)));
        api.register("DELETE", PATH + "/*", r -> CompletableFuture.completedFuture(admin.delete(r)));
    }

    private AdminResponse list() {
        return AdminResponse.ok(Map.of("apps", apps.describe()));
    }

    private AdminResponse create(AdminRequest r) {
        AppDocument doc = AppDocument.parse(BODY, r.body());
        if (!doc.valid()) {
            List<String> errors = doc.errors().stream().map(PolicyError::toString).toList();
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", "invalid_app");
            body.put("message", errors.get(0));
            body.put("errors", errors);
            return AdminResponse.of(400, body);
        }
        EpisodicApps.Result result = apps.register(doc.app().get(), r.operator());
        return switch (result.outcome()) {
            case DONE -> AdminResponse.of(201, AppStore.declaration(doc.app().get()));
            case CONFLICT -> AdminResponse.error(409, "app_conflict", result.message());
            case EXPIRED -> AdminResponse.error(400, "invalid_app", result.message());
            default -> AdminResponse.error(500, "app_not_stored", result.message());
        };
    }

    private AdminResponse delete(AdminRequest r) {
        String name = r.rest();
        EpisodicApps.Result result = apps.remove(name, r.operator());
        return switch (result.outcome()) {
            case DONE -> AdminResponse.ok(Map.of("removed", name, "sessions_ended", result.sessionsEnded()));
            case DECLARED_IN_FILES -> AdminResponse.error(409, "app_declared_in_files", result.message());
            case UNKNOWN -> AdminResponse.error(404, "app_unknown", result.message());
            default -> AdminResponse.error(500, "app_not_stored", result.message());
        };
    }
}
