package dev.pep.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * The images the container tests run, all built on this machine, none pulled: the Debian base
 * (docker/base/debian-jre.sh, cached by a content key under /var/cache/pep), the pep image of
 * docker/Dockerfile on it with the jar this build packaged (cached by a content key), and Keycloak
 * from Maven Central's distribution (docker/keycloak/build-local.sh, kept by the engine under its
 * fixed name).
 *
 * <p>Built with the docker CLI, not Testcontainers' {@code ImageFromDockerfile}: that one reads
 * the Dockerfile's FROM lines and tries to pull what it finds there (a build argument, here), and
 * sends the context without the repository's .dockerignore when the Dockerfile is not at the
 * context's root; the base is a {@code docker import} of a debootstrapped tree, which it has no
 * counterpart for.
 */
final class LocalImages {

    private static final Duration BUILD = Duration.ofMinutes(10);
    private static final Duration SHORT = Duration.ofSeconds(60);

    private LocalImages() {
    }

    /** The Debian Java 17 base image, built or reused (installs debootstrap when missing). */
    static String base() throws IOException, InterruptedException {
        if (!DockerEngine.onPath("debootstrap")) {
            DockerEngine.install("debootstrap");
        }
        return script(GatewayProcess.pepHome().resolve("docker/base/debian-jre.sh"), List.of());
    }

    /**
     * The pep image on {@code base}, named {@code pep-it:<key>}: the key is a hash of the base's
     * name, the jar this build packaged and the files of docker/ the image is made of, so the
     * container tests of one build share one image (with vfs every build costs minutes) and a new
     * build gets a new one. Images of earlier keys are removed first, so at most one stays.
     */
    static String pep(DockerEngine engine, String base) throws IOException, InterruptedException {
        Path home = GatewayProcess.pepHome();
        String image = "pep-it:" + key(base, home);
        if (engine.docker(SHORT, "image", "inspect", image).exitCode() == 0) {
            return image;
        }
        for (String old : engine.dockerOk(SHORT, "images", "--format", "{{.Repository}}:{{.Tag}}", "pep-it")
                .lines().filter(l -> !l.isBlank()).toList()) {
            engine.docker(SHORT, "rmi", "-f", old);
        }
        engine.dockerOk(BUILD, "build", "-q", "-f", home.resolve("docker/Dockerfile").toString(),
                "--build-arg", "BASE_IMAGE=" + base, "--build-arg", "BUILD_IMAGE=" + base,
                "--build-arg", "PEP_JAR=prebuilt", "-t", image, home.toString());
        // The build stage's images are nobody's parents: with vfs each is a full copy of the base.
        engine.docker(SHORT, "image", "prune", "-f", "--filter", "label=dev.pep.stage=build");
        return image;
    }

    /** pep-keycloak:VERSION, built once per engine from Maven Central's distribution on a Java 21+ JDK. */
    static String keycloak() throws IOException, InterruptedException {
        Path jdk = KeycloakServer.javaHome();
        return script(GatewayProcess.pepHome().resolve("docker/keycloak/build-local.sh"),
                List.of("KEYCLOAK_JAVA_HOME=" + jdk));
    }

    private static String key(String base, Path home) throws IOException {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(base.getBytes(StandardCharsets.UTF_8));
            for (String file : List.of("pep-proxy/target/pep.jar", "docker/Dockerfile", "docker/entrypoint.sh",
                    "docker/healthcheck.sh", ".dockerignore")) {
                sha.update(file.getBytes(StandardCharsets.UTF_8));
                sha.update(Files.readAllBytes(home.resolve(file)));
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs a build script that prints the image name on its last line of stdout. */
    private static String script(Path script, List<String> env) throws IOException, InterruptedException {
        ToolResult r = DockerEngine.run(BUILD, env, "bash", script.toString());
        assertThat(r.exitCode()).as("%s%n%s", script, r).isZero();
        String[] lines = r.out().trim().split("\n");
        return lines[lines.length - 1].trim();
    }
}
