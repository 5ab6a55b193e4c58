package dev.pep.it;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.HealthCheck;
import com.github.dockerjava.api.model.Ports;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.StartupCheckStrategy;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/**
 * The pep image as a Testcontainers container, the way docker/README.md runs it: read-only root,
 * the configuration directory bound read-only at /etc/pep, the tmpfs mounts asked for, ports
 * published on 127.0.0.1 only. The image is local and is never pulled (CI reaches no registry).
 * Testcontainers' own helper images would come from a registry, so the failsafe configuration
 * (integration-tests/pom.xml) turns off all that needs one: Ryuk, its reaper (every test stops what
 * it starts), its start-up checks, and its search for the engine's address from inside a container.
 * Not thread-safe.
 */
final class PepContainer extends GenericContainer<PepContainer> {

    /** Docker's default tmpfs options: noexec, as a plain {@code --tmpfs /tmp} mounts it. */
    static final String TMPFS_DEFAULTS = "";
    static final String TMP_EXEC = "rw,exec,nosuid,nodev,size=64m";
    static final String RUN_PEP = "rw,nosuid,nodev,size=1m,uid=10001,gid=10001,mode=0700";

    private final Map<String, String> tmpfs = new LinkedHashMap<>();
    private int[] published = new int[0];
    private Duration healthInterval;

    PepContainer(String image) {
        super(DockerImageName.parse(image));
        withImagePullPolicy(name -> false);
        withCreateContainerCmdModifier(cmd -> {
            var host = cmd.getHostConfig();
            host.withReadonlyRootfs(true).withTmpFs(tmpfs).withPublishAllPorts(false);
            ExposedPort[] ports = Arrays.stream(published).mapToObj(ExposedPort::tcp).toArray(ExposedPort[]::new);
            Ports bindings = new Ports();
            for (ExposedPort p : ports) {
                bindings.bind(p, Ports.Binding.bindIp("127.0.0.1"));
            }
            cmd.withExposedPorts(ports);
            host.withPortBindings(bindings);
            if (healthInterval != null) {
                // The image's HEALTHCHECK, asked more often than its 10 s so the test waits less.
                cmd.withHealthcheck(new HealthCheck().withTest(List.of("CMD", "/usr/local/bin/pep-healthcheck"))
                        .withInterval(healthInterval.toNanos()).withTimeout(TimeUnit.SECONDS.toNanos(3))
                        .withStartPeriod(TimeUnit.SECONDS.toNanos(60)).withRetries(3));
            }
        });
    }

    /** Binds {@code dir} read-only at /etc/pep. */
    PepContainer withConfig(Path dir) {
        return withFileSystemBind(dir.toString(), "/etc/pep", BindMode.READ_ONLY);
    }

    /** A tmpfs at {@code path} with these mount options ({@link #TMPFS_DEFAULTS}: Docker's). */
    PepContainer withTmpfs(String path, String options) {
        tmpfs.put(path, options);
        return this;
    }

    /** Publishes these container ports on 127.0.0.1, each on a free host port. */
    PepContainer publishing(int... ports) {
        published = ports.clone();
        return this;
    }

    /** Starts when the image's own HEALTHCHECK, asked every {@code interval}, says healthy. */
    PepContainer waitingUntilHealthy(Duration interval, Duration timeout) {
        healthInterval = interval;
        return waitingFor(Wait.forHealthcheck().withStartupTimeout(timeout));
    }

    /** Starts when the container has exited, whatever its exit code (a one-shot command). */
    PepContainer runningToItsEnd(Duration timeout) {
        return withStartupCheckStrategy(new RunToEnd().withTimeout(timeout));
    }

    /** The host port on 127.0.0.1 that {@code containerPort} is published on. */
    int port(int containerPort) {
        return getMappedPort(containerPort);
    }

    /** The exit code of a container that has stopped. */
    long exitCode() {
        InspectContainerResponse.ContainerState state = getCurrentContainerInfo().getState();
        return state.getExitCodeLong();
    }

    /** Stdout and stderr, as {@code docker logs} prints them. */
    String logs() {
        return getLogs();
    }

    /** Sends SIGTERM to PID 1, as {@code docker stop} does first, and waits at most {@code timeout} for the exit. */
    int terminate(Duration timeout) {
        getDockerClient().killContainerCmd(getContainerId()).withSignal("TERM").exec();
        return getDockerClient().waitContainerCmd(getContainerId()).start()
                .awaitStatusCode(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Docker's stop: SIGTERM, then SIGKILL after {@code grace}; the container stays to be inspected. */
    void stopGracefully(Duration grace) {
        getDockerClient().stopContainerCmd(getContainerId()).withTimeout((int) grace.toSeconds()).exec();
    }

    /** Startup is over once the container is no longer running, whatever its exit code. */
    private static final class RunToEnd extends StartupCheckStrategy {
        @Override
        public StartupStatus checkStartupState(DockerClient docker, String id) {
            return Boolean.TRUE.equals(getCurrentState(docker, id).getRunning())
                    ? StartupStatus.NOT_YET_KNOWN : StartupStatus.SUCCESSFUL;
        }
    }
}
