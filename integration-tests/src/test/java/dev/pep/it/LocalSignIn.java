package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Signs in and out through the gateway's own login form, as the quickstart's demo user. */
final class LocalSignIn {

    static final String SESSION_COOKIE = "__Host-pep_session";

    private LocalSignIn() {
    }

    /** Signs in at {@code app}'s host; returns the session cookie as {@code name=value}. */
    static String demo(HttpClient client, int port, String app) throws Exception {
        HttpResponse<String> form = client.send(HttpRequest.newBuilder(url(app, port, "/.pep/login?return_to=%2F"))
                .header("Accept", "text/html").build(), HttpResponse.BodyHandlers.ofString());
        Matcher csrf = Pattern.compile("name=\"csrf\" value=\"([^\"]+)\"").matcher(form.body());
        assertThat(csrf.find()).as(form.body()).isTrue();
        String csrfCookie = cookie(form, "__Host-pep_csrf");
        HttpResponse<String> login = client.send(HttpRequest.newBuilder(url(app, port, "/.pep/login"))
                .header("Cookie", csrfCookie).header("Content-Type", "application/x-www-form-urlencoded")
                .header("Origin", "https://" + app + ".pep.localhost:" + port)
                .POST(HttpRequest.BodyPublishers.ofString("csrf=" + csrf.group(1)
                        + "&return_to=%2F&username=demo&password=demo-password")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(login.statusCode()).as(login.body()).isEqualTo(303);
        return cookie(login, SESSION_COOKIE);
    }

    /** Signs the session of {@code cookie} out at {@code app}'s host. */
    static void logout(HttpClient client, int port, String app, String cookie) throws Exception {
        HttpResponse<String> logout = client.send(HttpRequest.newBuilder(url(app, port, "/.pep/logout"))
                .header("Cookie", cookie).header("Origin", "https://" + app + ".pep.localhost:" + port)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(logout.statusCode()).as(logout.body()).isEqualTo(303);
    }

    /** The {@code name=value} of the cookie {@code name} the response sets. */
    static String cookie(HttpResponse<?> r, String name) {
        return r.headers().allValues("set-cookie").stream().filter(c -> c.startsWith(name + "="))
                .map(c -> c.substring(0, c.indexOf(';'))).findFirst().orElseThrow(() ->
                        new AssertionError("no " + name + " cookie in " + r.headers().map()));
    }

    private static URI url(String app, int port, String pathAndQuery) {
        return URI.create("https://" + app + ".pep.localhost:" + port + pathAndQuery);
    }
}
