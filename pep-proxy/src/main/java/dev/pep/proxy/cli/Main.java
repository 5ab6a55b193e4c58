package dev.pep.proxy.cli;

import dev.pep.identity.assertion.AssertionKeyCommand;
import dev.pep.identity.local.UserCommand;
import dev.pep.policy.PolicyCommand;
import dev.pep.telemetry.audit.AuditCommand;
import dev.pep.proxy.config.ConfigException;
import dev.pep.proxy.config.ConfigLoader;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.server.GatewayServer;
import dev.pep.proxy.server.PolicyLoadException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * The {@code pep} command line: {@code serve}, {@code validate}, {@code connector}, {@code version}. Exit codes: 0 on
 * success, 1 when the input is bad (configuration, policy), 2 on a usage error.
 */
public final class Main {

    private static final Logger LOG = LoggerFactory.getLogger(Main.class);
    private static final String USAGE = """
            usage: pep <command> [options]
              serve    --config FILE   run the gateway
              validate --config FILE   check a gateway configuration and exit
              version                  print the version
              policy   validate DIR | test DIR | explain --policies DIR --request FILE.json
              audit    verify FILE|DIR...     check the hash chain of audit files
              user     add --file FILE --name NAME [--group G]... [--org ORG] [--email E]
                                       add a local user; the password is read from standard input
              connector --config CONNECTOR.yaml       run a connector
              connector token create --config GATEWAY.yaml --name NAME --app APP...
                        [--token-ttl 1h] [--expires INSTANT|DURATION]   print an enrolment token
              connector revoke --config GATEWAY.yaml --name NAME      revoke a connector
              assertion-key add --file FILE
                                       add a key that signs identity assertions (from the next start)
            """;

    private Main() {
    }

    /** Runs a command and exits with its code; {@code serve} returns only after a drain. */
    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.exit(code);
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.print(USAGE);
            return 2;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        return switch (args[0]) {
            case "serve" -> serve(rest, err);
            case "validate" -> validate(rest, out, err);
            case "policy" -> PolicyCommand.run(rest, out, err);
            case "audit" -> AuditCommand.run(rest, out, err);
            case "user" -> UserCommand.run(rest, out, err);
            case "connector" -> ConnectorCommand.run(rest, out, err);
            case "assertion-key" -> AssertionKeyCommand.run(rest, out, err);
            case "version", "--version" -> {
                out.println("pep " + version());
                yield 0;
            }
            case "help", "--help", "-h" -> {
                out.print(USAGE);
                yield 0;
            }
            default -> {
                err.println("pep: unknown command '" + args[0] + "'");
                err.print(USAGE);
                yield 2;
            }
        };
    }

    private static int validate(String[] args, PrintStream out, PrintStream err) {
        Path file = configOption(args, err);
        if (file == null) {
            return 2;
        }
        try {
            GatewayConfig config = ConfigLoader.load(file);
            out.println(file + ": valid (" + config.apps().size() + " apps)");
            return 0;
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 1;
        }
    }

    private static int serve(String[] args, PrintStream err) {
        Path file = configOption(args, err);
        if (file == null) {
            return 2;
        }
        GatewayConfig config;
        try {
            config = ConfigLoader.load(file);
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 1;
        }
        GatewayServer server;
        try {
            server = GatewayServer.start(config);
        } catch (PolicyLoadException e) {
            err.println("pep: " + e.getMessage());
            return 1;
        } catch (Exception e) {
            LOG.error("gateway failed to start error={}", e.toString());
            err.println("pep: cannot start: " + e.getMessage());
            return 1;
        }
        try {
            awaitStopSignal();
            server.drain();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            server.close();
        }
        return 0;
    }

    /** Blocks until the process gets SIGTERM or SIGINT. */
    static void awaitStopSignal() throws InterruptedException {
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        stop.await();
    }

    private static Path configOption(String[] args, PrintStream err) {
        for (int i = 0; i < args.length - 1; i++) {
            if (args[i].equals("--config")) {
                return Path.of(args[i + 1]);
            }
        }
        err.println("pep: missing --config FILE");
        err.print(USAGE);
        return null;
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v == null ? "development" : v;
    }
}
