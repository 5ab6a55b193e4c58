package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.pep.it.RecordingUpstream.Mode;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Cookie;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Browser sign-in through the packaged gateway against a real Keycloak 26 with two realms, two
 * partner organisations: alpha (user ana, group logistics) and bravo (users ben and bea, group
 * finance).
 * A cookie-keeping HTTP client walks the whole authorization-code flow, submitting Keycloak's own
 * login form, and a real headless Chromium does the same through the pages themselves. Keycloak
 * starts once for the class; the tests are skipped (never passed) without a Java 21+ JDK to run
 * it, the browser test also without Debian's chromium and chromium-driver.
 */
class KeycloakLoginIT {

    private static final String ALPHA_SECRET = "alpha-client-secret-for-tests-only";
    private static final String BRAVO_SECRET = "bravo-client-secret-for-tests-only";
    private static final String SESSION_COOKIE = "__Host-pep_session";
    private static final Pattern LINK = Pattern.compile("href=\"([^\"]*provider=alpha[^\"]*)\"");

    @TempDir
    static Path dir;

    static RecordingUpstream supplyApp;
    static RecordingUpstream payrollApp;
    static GatewayProcess gateway;
    static KeycloakServer keycloak;

    @BeforeAll
    @Timeout(value = 6, unit = TimeUnit.MINUTES)
    static void start() throws Exception {
        KeycloakServer.javaHome();
        supplyApp = RecordingUpstream.start(Mode.ANSWER);
        payrollApp = RecordingUpstream.start(Mode.ANSWER);
        int keycloakPort = RecordingUpstream.unboundPort();
        String kc = "http://127.0.0.1:" + keycloakPort + "/realms/";
        Files.writeString(dir.resolve("alpha.secret"), ALPHA_SECRET + "\n");
        Files.writeString(dir.resolve("bravo.secret"), BRAVO_SECRET + "\n");
        Files.createDirectories(dir.resolve("policies"));
        Files.writeString(dir.resolve("policies/apps.yaml"), """
                apps:
                  supply:
                    hosts: [supply.pep.localhost]
                    upstream: %s
                  payroll:
                    hosts: [payroll.pep.localhost]
                    upstream: %s
                  desk:
                    hosts: [desk.pep.localhost]
                    upstream: pep:echo
                rules:
                  - id: supply-logistics
                    apps: [supply]
                    effect: allow
                    when: >
                      "logistics" in subject.groups && subject.organisation == "alpha"
                      && subject.method == "oidc"
                      && "department" in subject.claims
                      && subject.claims["department"] == "alpha-operations"
                    obligations:
                      headers:
                        X-Pep-User: "${subject.id}"
                        X-Pep-Issuer: "${subject.issuer}"
                        X-Pep-Org: "${subject.organisation}"
                        X-Pep-Email: "${subject.email}"
                        X-Pep-Groups: "${subject.groups}"
                        X-Pep-Roles: "${subject.roles}"
                        X-Pep-Method: "${subject.method}"
                  - id: desk-logistics
                    apps: [desk]
                    effect: allow
                    when: '"logistics" in subject.groups && subject.method == "oidc"'
                    obligations:
                      headers:
                        X-Pep-Email: "${subject.email}"
                        X-Pep-Groups: "${subject.groups}"
                  - id: payroll-finance
                    apps: [payroll]
                    effect: allow
                    when: '"finance" in subject.groups'
                    obligations:
                      headers:
                        X-Pep-Org: "${subject.organisation}"
                        X-Pep-Email: "${subject.email}"
                """.formatted(supplyApp.url(), payrollApp.url()));
        // The gateway starts first, with Keycloak not yet up: it discovers the providers in the
        // background and again at a sign-in after a failure. Its development CA then exists for
        // Keycloak to trust on back-channel logout calls.
        gateway = GatewayProcess.start(dir, GatewayProcess.baseConfig("it-keycloak") + """
                policy:
                  directory: policies
                audit:
                  directory: audit
                identity:
                  providers:
                    - name: alpha
                      issuer: %salpha
                      client-id: pep-gateway
                      client-secret-file: alpha.secret
                      insecure-http: true
                      email-domains: [alpha.example]
                      refresh-interval: 2s
                      claims:
                        fixed-organisation: alpha
                        extra: [department]
                    - name: bravo
                      issuer: %sbravo
                      client-id: pep-gateway
                      client-secret-file: bravo.secret
                      insecure-http: true
                      hosts: [payroll.pep.localhost]
                      email-domains: [bravo.example]
                      claims:
                        fixed-organisation: bravo
                """.formatted(kc, kc));
        Path realms = Path.of("src/test/resources/keycloak");
        Path hosts = Path.of("src/test/resources/it-hosts").toAbsolutePath();
        keycloak = KeycloakServer.start(keycloakPort, List.of(realms.resolve("alpha-realm.json"),
                realms.resolve("bravo-realm.json")), gateway.devCa(), hosts, dir);
        System.out.println("keycloak started in " + keycloak.startedIn().toMillis() + " ms");
        keycloak.registerGateway("alpha", "pep-gateway",
                List.of(gatewayUri("supply", "/.pep/callback").toString(),
                        gatewayUri("payroll", "/.pep/callback").toString(),
                        gatewayUri("desk", "/.pep/callback").toString()),
                List.of(gatewayUri("supply", "/.pep/signed-out").toString(),
                        gatewayUri("payroll", "/.pep/signed-out").toString()),
                gatewayUri("supply", "/.pep/backchannel-logout/alpha").toString());
        keycloak.registerGateway("bravo", "pep-gateway",
                List.of(gatewayUri("payroll", "/.pep/callback").toString()),
                List.of(gatewayUri("payroll", "/.pep/signed-out").toString()),
                gatewayUri("payroll", "/.pep/backchannel-logout/bravo").toString());
    }

    @AfterAll
    static void stop() throws Exception {
        GatewayProcess.stopAll(gateway, supplyApp, payrollApp, keycloak);
    }

    @BeforeEach
    void clear() {
        supplyApp.clear();
        payrollApp.clear();
    }

    @Test
    void signIn_alphaUser_onSupply_appSeesTheMappedIdentity() throws Exception {
        Browser browser = new Browser(gateway.devCa());
        HttpResponse<String> first = browser.get(gatewayUri("supply", "/orders?week=12"));
        assertThat(first.statusCode()).isEqualTo(302);
        assertThat(first.headers().firstValue("location")).hasValue("/.pep/login?return_to=%2Forders%3Fweek%3D12");

        // One provider serves supply: the sign-in page sends the browser straight to it.
        HttpResponse<String> toProvider = browser.get(Browser.location(first));
        assertThat(toProvider.statusCode()).isEqualTo(302);
        URI authorize = Browser.location(toProvider);
        Map<String, String> q = query(authorize);
        assertThat(authorize.toString()).startsWith(keycloak.issuer("alpha") + "/protocol/openid-connect/auth?");
        assertThat(q).containsEntry("response_type", "code").containsEntry("client_id", "pep-gateway")
                .containsEntry("code_challenge_method", "S256")
                .containsEntry("redirect_uri", gatewayUri("supply", "/.pep/callback").toString())
                .containsKeys("state", "nonce", "code_challenge");
        assertThat(q.get("scope").split(" ")).contains("openid");
        assertThat(toProvider.headers().allValues("set-cookie")).anySatisfy(c -> assertThat(c)
                .startsWith("__Host-pep_login=").contains("Secure", "HttpOnly", "Path=/"));

        URI callback = signInAtKeycloak(browser, authorize, "ana");
        assertThat(query(callback)).containsEntry("state", q.get("state")).containsKey("code")
                .containsEntry("iss", keycloak.issuer("alpha"));
        HttpResponse<String> back = browser.get(callback);
        assertThat(back.statusCode()).as(back.body()).isEqualTo(303);
        assertThat(back.headers().firstValue("location")).hasValue("/orders?week=12");
        assertThat(back.headers().allValues("set-cookie")).anySatisfy(c -> assertThat(c)
                .startsWith(SESSION_COOKIE + "=").contains("Secure", "HttpOnly", "SameSite=Lax"));

        HttpResponse<String> app = browser.open(Browser.location(back));
        assertThat(app.statusCode()).as(app.body()).isEqualTo(200);
        assertThat(supplyApp.requests()).singleElement().satisfies(req -> {
            assertThat(req.target()).isEqualTo("/orders?week=12");
            assertThat(req.header("x-pep-email")).hasValue("ana@alpha.example");
            assertThat(req.header("x-pep-org")).hasValue("alpha");
            assertThat(req.header("x-pep-groups")).hasValue("logistics");
            assertThat(req.header("x-pep-roles").orElseThrow().split(",")).contains("dispatcher");
            assertThat(req.header("x-pep-method")).hasValue("oidc");
            assertThat(req.header("x-pep-issuer")).hasValue(keycloak.issuer("alpha"));
            assertThat(req.header("x-pep-user").orElseThrow()).isNotBlank();
            assertThat(req.header("cookie").orElse("")).doesNotContain(SESSION_COOKIE);
        });
        String session = browser.cookie(gatewayUri("supply", "/"), SESSION_COOKIE).orElseThrow();
        assertThat(gateway.stderr()).doesNotContain(ALPHA_SECRET).doesNotContain(BRAVO_SECRET)
                .doesNotContain(session).doesNotContain(query(callback).get("code"));
    }

    @Test
    void twoProvidersForPayroll_chooserPage_alphaUserDeniedByPolicy_bravoUserAllowed() throws Exception {
        Browser ana = new Browser(gateway.devCa());
        HttpResponse<String> chooser = ana.open(gatewayUri("payroll", "/"));
        assertThat(chooser.statusCode()).isEqualTo(200);
        assertThat(chooser.uri().getPath()).isEqualTo("/.pep/login");
        assertThat(chooser.body()).contains("provider=alpha", "provider=bravo", "name=\"email\"");
        Matcher link = LINK.matcher(chooser.body());
        assertThat(link.find()).isTrue();

        URI authorize = ana.followUntil(ana.get(chooser.uri().resolve(link.group(1).replace("&amp;", "&"))),
                keycloak.issuer("alpha"));
        HttpResponse<String> denied = ana.open(signInAtKeycloak(ana, authorize, "ana"));
        assertThat(denied.statusCode()).as(denied.body()).isEqualTo(403);
        assertThat(denied.body()).contains("no_matching_rule");
        assertThat(payrollApp.requests()).isEmpty();

        // The partner types an address; its domain selects bravo.
        Browser ben = new Browser(gateway.devCa());
        URI byEmail = ben.followUntil(ben.get(gatewayUri("payroll", "/.pep/login?return_to=%2Fslips&email=ben%40bravo.example")),
                keycloak.issuer("bravo"));
        HttpResponse<String> allowed = ben.open(signInAtKeycloak(ben, byEmail, "ben"));
        assertThat(allowed.statusCode()).as(allowed.body()).isEqualTo(200);
        assertThat(payrollApp.requests()).singleElement().satisfies(req -> {
            assertThat(req.target()).isEqualTo("/slips");
            assertThat(req.header("x-pep-org")).hasValue("bravo");
            assertThat(req.header("x-pep-email")).hasValue("ben@bravo.example");
        });
    }

    @Test
    void tamperedCallback_refused_genuineOnceOnly() throws Exception {
        Browser browser = new Browser(gateway.devCa());
        URI authorize = browser.followUntil(browser.get(gatewayUri("supply", "/")), keycloak.issuer("alpha"));
        URI callback = signInAtKeycloak(browser, authorize, "ana");
        String genuine = callback.getRawQuery();

        HttpResponse<String> otherState = browser.get(withQuery(callback,
                genuine.replaceFirst("state=[^&]+", "state=forged-state-value")));
        assertThat(otherState.statusCode()).isEqualTo(403);
        assertThat(otherState.body()).contains("login_state_invalid");
        HttpResponse<String> otherIssuer = browser.get(withQuery(callback,
                genuine.replaceFirst("iss=[^&]+", "iss=https%3A%2F%2Fevil.example%2F")));
        assertThat(otherIssuer.statusCode()).isEqualTo(403);
        assertThat(otherIssuer.body()).contains("issuer_mismatch");
        HttpResponse<String> noLoginCookie = new Browser(gateway.devCa()).get(callback);
        assertThat(noLoginCookie.statusCode()).isEqualTo(403);
        assertThat(noLoginCookie.body()).contains("login_state_invalid");
        for (HttpResponse<String> refused : List.of(otherState, otherIssuer, noLoginCookie)) {
            assertThat(refused.headers().allValues("set-cookie")).noneMatch(c -> c.startsWith(SESSION_COOKIE + "=")
                    && !c.startsWith(SESSION_COOKIE + "=;"));
        }

        HttpResponse<String> once = browser.get(callback);
        assertThat(once.statusCode()).as(once.body()).isEqualTo(303);
        HttpResponse<String> replay = browser.get(callback);
        assertThat(replay.statusCode()).isEqualTo(403);
        assertThat(supplyApp.requests()).isEmpty();
    }

    @Test
    void logout_endsTheGatewaySession_andKeycloaksSession() throws Exception {
        Browser browser = new Browser(gateway.devCa());
        URI authorize = browser.followUntil(browser.get(gatewayUri("supply", "/")), keycloak.issuer("alpha"));
        assertThat(browser.open(signInAtKeycloak(browser, authorize, "ana")).statusCode()).isEqualTo(200);
        String session = browser.cookie(gatewayUri("supply", "/"), SESSION_COOKIE).orElseThrow();

        HttpResponse<String> out = browser.post(gatewayUri("supply", "/.pep/logout"),
                "https://supply.pep.localhost:" + gateway.port(), "");
        assertThat(out.statusCode()).isEqualTo(303);
        URI endSession = Browser.location(out);
        assertThat(endSession.toString()).startsWith(keycloak.issuer("alpha") + "/protocol/openid-connect/logout?");
        assertThat(query(endSession)).containsKey("id_token_hint")
                .containsEntry("post_logout_redirect_uri", gatewayUri("supply", "/.pep/signed-out").toString());
        HttpResponse<String> signedOut = browser.follow(out);
        assertThat(signedOut.uri().getAuthority()).isEqualTo(gatewayUri("supply", "/").getAuthority());
        assertThat(signedOut.uri().getPath()).isEqualTo("/.pep/signed-out");
        assertThat(signedOut.statusCode()).isEqualTo(200);
        assertThat(signedOut.body()).contains("signed out");

        // The old cookie is dead at the gateway, whoever presents it.
        HttpResponse<String> oldCookie = browser.getWithCookie(gatewayUri("supply", "/"), SESSION_COOKIE + "=" + session);
        assertThat(oldCookie.statusCode()).isEqualTo(302);
        assertThat(oldCookie.headers().firstValue("location").orElseThrow()).startsWith("/.pep/login");
        // Keycloak's session ended too: signing in again asks for the password.
        URI again = browser.followUntil(browser.get(gatewayUri("supply", "/")), keycloak.issuer("alpha"));
        HttpResponse<String> page = browser.get(again);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("kc-form-login");
        assertThat(supplyApp.requests()).hasSize(1);
    }

    @Test
    void backChannelLogout_keycloakEndsBeasSession_gatewayCookieDies() throws Exception {
        // Bea signs in only here: one Keycloak session, so exactly one logout token names hers.
        Browser bea = new Browser(gateway.devCa());
        URI authorize = bea.followUntil(bea.get(gatewayUri("payroll", "/.pep/login?provider=bravo&return_to=%2F")),
                keycloak.issuer("bravo"));
        assertThat(bea.open(signInAtKeycloak(bea, authorize, "bea")).statusCode()).isEqualTo(200);
        String session = bea.cookie(gatewayUri("payroll", "/"), SESSION_COOKIE).orElseThrow();
        assertThat(keycloak.sessionCount("bravo", "bea")).isEqualTo(1);

        keycloak.logoutUser("bravo", "bea");

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() ->
                assertThat(bea.getWithCookie(gatewayUri("payroll", "/"), SESSION_COOKIE + "=" + session)
                        .statusCode()).as(() -> "keycloak log:\n" + keycloak.log().lines()
                                .filter(l -> l.contains("WARN") || l.contains("ERROR") || l.contains("ogout")
                                        || l.contains("ackchannel"))
                                .collect(java.util.stream.Collectors.joining("\n"))).isEqualTo(302));
        assertThat(keycloak.sessionCount("bravo", "bea")).isZero();
        assertThat(payrollApp.requests()).hasSize(1);
    }

    @Test
    void userDisabledAtKeycloak_nextRefreshRefused_gatewaySessionEnds() throws Exception {
        // Dan signs in only here; alpha's sessions are renewed every 2 s (refresh-interval).
        Browser dan = new Browser(gateway.devCa());
        URI authorize = dan.followUntil(dan.get(gatewayUri("desk", "/")), keycloak.issuer("alpha"));
        assertThat(dan.open(signInAtKeycloak(dan, authorize, "dan")).statusCode()).isEqualTo(200);
        String cookie = SESSION_COOKIE + "=" + dan.cookie(gatewayUri("desk", "/"), SESSION_COOKIE).orElseThrow();
        await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(500))
                .until(() -> dan.getWithCookie(gatewayUri("desk", "/"), cookie).statusCode() == 200);

        keycloak.setEnabled("alpha", "dan", false);
        try {
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                    .until(() -> dan.getWithCookie(gatewayUri("desk", "/"), cookie).statusCode() == 302);
        } finally {
            keycloak.setEnabled("alpha", "dan", true);
        }
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(AuditFiles.lines(dir.resolve("audit")))
                .anySatisfy(line -> assertThat(line).contains("\"revocation\"").contains("refresh_refused")));
        assertThat(gateway.stderr()).doesNotContain(cookie);
    }

    @Test
    @Timeout(value = 4, unit = TimeUnit.MINUTES)
    void headlessChromium_signsInThroughKeycloak_reachesDesk_thenDeniedPayroll() throws Exception {
        HeadlessChromium.missing().ifPresent(why -> Assumptions.assumeTrue(false, why));
        ChromeDriver chromium = HeadlessChromium.start(dir, gateway.devCa());
        try {
            WebDriverWait wait = new WebDriverWait(chromium, Duration.ofSeconds(60), Duration.ofMillis(200));
            wait.withMessage(() -> "browser at " + chromium.getCurrentUrl() + " titled " + chromium.getTitle());
            // The gateway sends the browser to its sign-in, then straight on to alpha's login page.
            chromium.get(gatewayUri("desk", "/reports?month=3").toString());
            wait.until(ExpectedConditions.presenceOfElementLocated(By.id("kc-form-login")));
            assertThat(chromium.getCurrentUrl())
                    .startsWith(keycloak.issuer("alpha") + "/protocol/openid-connect/auth?");

            chromium.findElement(By.name("username")).sendKeys("ana");
            chromium.findElement(By.name("password")).sendKeys("ana-password-1");
            chromium.findElement(By.cssSelector("#kc-form-login [type=submit]")).click();

            // Back on the app: the built-in echo app shows what it received, ana's identity included.
            wait.until(ExpectedConditions.titleIs("pep echo"));
            assertThat(chromium.getCurrentUrl()).isEqualTo(gatewayUri("desk", "/reports?month=3").toString());
            String page = chromium.findElement(By.tagName("body")).getText();
            assertThat(page).contains("/reports?month=3").containsPattern("(?i)x-pep-email\\s+ana@alpha\\.example")
                    .containsPattern("(?i)x-pep-groups\\s+logistics").doesNotContain(SESSION_COOKIE);
            Cookie session = chromium.manage().getCookieNamed(SESSION_COOKIE);
            assertThat(session).isNotNull();
            assertThat(session.isSecure()).isTrue();
            assertThat(session.isHttpOnly()).isTrue();

            // Payroll is finance's: the chooser offers both partners; alpha's Keycloak session still
            // holds, so no password is asked, and the gateway denies ana by policy.
            chromium.get(gatewayUri("payroll", "/slips").toString());
            wait.until(ExpectedConditions.titleIs("Sign in"));
            chromium.findElement(By.linkText("alpha")).click();
            wait.until(ExpectedConditions.titleContains("403"));
            assertThat(chromium.getCurrentUrl()).startsWith(gatewayUri("payroll", "/").toString());
            assertThat(chromium.findElement(By.tagName("body")).getText()).contains("no_matching_rule");
            assertThat(payrollApp.requests()).isEmpty();
            assertThat(gateway.stderr()).doesNotContain(session.getValue()).doesNotContain("ana-password-1");
        } finally {
            chromium.quit();
        }
    }

    /** Submits Keycloak's login form as {@code user}; returns the redirect to the gateway's callback. */
    private static URI signInAtKeycloak(Browser browser, URI authorize, String user) throws Exception {
        HttpResponse<String> page = browser.get(authorize);
        assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
        assertThat(page.body()).contains("kc-form-login");
        Map<String, String> form = new LinkedHashMap<>();
        form.put("username", user);
        form.put("password", user + "-password-1");
        form.put("credentialId", "");
        HttpResponse<String> answer = browser.submit(page, form);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(302);
        URI callback = Browser.location(answer);
        assertThat(callback.getScheme() + "://" + callback.getAuthority() + callback.getPath())
                .endsWith(".pep.localhost:" + gateway.port() + "/.pep/callback");
        return callback;
    }

    private static URI gatewayUri(String app, String pathAndQuery) {
        return URI.create("https://" + app + ".pep.localhost:" + gateway.port() + pathAndQuery);
    }

    private static URI withQuery(URI uri, String rawQuery) {
        return URI.create(uri.getScheme() + "://" + uri.getRawAuthority() + uri.getRawPath() + "?" + rawQuery);
    }

    private static Map<String, String> query(URI uri) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : uri.getRawQuery().split("&")) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            out.put(URLDecoder.decode(name, StandardCharsets.UTF_8), URLDecoder.decode(value, StandardCharsets.UTF_8));
        }
        return out;
    }
}
