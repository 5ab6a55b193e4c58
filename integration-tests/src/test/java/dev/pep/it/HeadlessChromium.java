package dev.pep.it;

import java.io.File;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.Optional;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The system's headless Chromium driven through the system's chromedriver (Debian's
 * {@code chromium} and {@code chromium-driver}). Both paths are given to Selenium, so Selenium
 * Manager never looks for or downloads a driver or a browser. The browser trusts exactly one key
 * besides the system's roots: the gateway's development CA, by its SPKI pin.
 */
final class HeadlessChromium {

    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private HeadlessChromium() {
    }

    /** Why a browser cannot be started here, or empty when both binaries are installed. */
    static Optional<String> missing() {
        if (!Files.isExecutable(CHROMIUM)) {
            return Optional.of(CHROMIUM + " is not installed (.ci/run installs chromium)");
        }
        if (!Files.isExecutable(CHROMEDRIVER)) {
            return Optional.of(CHROMEDRIVER + " is not installed (.ci/run installs chromium-driver)");
        }
        return Optional.empty();
    }

    /**
     * Starts a browser with a fresh profile under {@code dir} that resolves every
     * {@code *.pep.localhost} name to 127.0.0.1 and accepts certificates chaining to {@code devCa}.
     */
    static ChromeDriver start(Path dir, Path devCa) throws Exception {
        Path profile = Files.createTempDirectory(dir, "chromium-profile");
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile());
        // Nothing fetched in the background, no QUIC: every connection is one the test causes.
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-sync", "--disable-quic", "--user-data-dir=" + profile,
                "--host-resolver-rules=MAP *.pep.localhost 127.0.0.1",
                // A pin on the dev CA's key rather than --ignore-certificate-errors: any other
                // certificate error (another key, a wrong name) still stops the page.
                "--ignore-certificate-errors-spki-list=" + spkiSha256(devCa));
        options.setPageLoadTimeout(Duration.ofSeconds(60));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER.toString())).usingAnyFreePort()
                .withLogFile(dir.resolve("chromedriver.log").toFile()).build();
        return new ChromeDriver(service, options);
    }

    /** Base64 of the SHA-256 of the certificate's SubjectPublicKeyInfo, Chromium's pin format. */
    static String spkiSha256(Path pem) throws Exception {
        try (InputStream in = Files.newInputStream(pem)) {
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(in);
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(cert.getPublicKey().getEncoded());
            return Base64.getEncoder().encodeToString(digest);
        }
    }
}
