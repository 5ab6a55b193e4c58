package dev.pep.proxy.cli;

import dev.pep.proxy.config.ConfigException;
import dev.pep.proxy.config.ConfigLoader;
import dev.pep.proxy.config.ConnectorConfig;
import dev.pep.proxy.config.GatewayConfig;
import dev.pep.proxy.config.Units;
import dev.pep.proxy.connector.ConnectorAgent;
import dev.pep.proxy.connector.ConnectorCa;
import dev.pep.proxy.connector.EnrolmentRefusedException;
import dev.pep.proxy.connector.EnrolmentStore;
import dev.pep.proxy.connector.ExpiryParser;
import java.io.PrintStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code pep connector}: runs a connector, or manages enrolments on a gateway's connectors state
 * directory (a running gateway picks changes up within a second or two).
 */
final class ConnectorCommand {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectorCommand.class);
    static final String USAGE = """
            usage: pep connector --config CONNECTOR.yaml
                                       run a connector: enrol once, then keep tunnels to the gateways
                   pep connector token create --config GATEWAY.yaml --name NAME --app APP [--app APP]...
                                       [--token-ttl 1h] [--expires INSTANT|DURATION]
                                       print a one-time enrolment token
                   pep connector revoke --config GATEWAY.yaml --name NAME
                                       revoke every instance of a connector; its tunnels close
            """;

    private ConnectorCommand() {
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length >= 2 && args[0].equals("token") && args[1].equals("create")) {
            return createToken(List.of(args).subList(2, args.length), out, err);
        }
        if (args.length >= 1 && args[0].equals("revoke")) {
            return revoke(List.of(args).subList(1, args.length), out, err);
        }
        if (args.length == 2 && args[0].equals("--config")) {
            return runConnector(Path.of(args[1]), err);
        }
        err.print(USAGE);
        return 2;
    }

    private static int runConnector(Path file, PrintStream err) {
        ConnectorConfig config;
        try {
            config = ConfigLoader.loadConnector(file);
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 1;
        }
        ConnectorAgent agent;
        try {
            agent = ConnectorAgent.start(config);
        } catch (EnrolmentRefusedException e) {
            err.println("pep connector: enrolment refused (" + e.reason() + "): " + e.getMessage());
            return 1;
        } catch (Exception e) {
            LOG.error("connector failed to start error={}", e.toString());
            err.println("pep connector: cannot start: " + e.getMessage());
            return 1;
        }
        try {
            Main.awaitStopSignal();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            agent.close();
        }
        return 0;
    }

    private static int createToken(List<String> args, PrintStream out, PrintStream err) {
        Options o = Options.parse(args, err, List.of("--config", "--name", "--app", "--token-ttl", "--expires"));
        if (o == null || o.one("--config") == null || o.one("--name") == null) {
            err.print(USAGE);
            return 2;
        }
        try {
            GatewayConfig gateway = ConfigLoader.load(Path.of(o.one("--config")));
            Path dir = stateDirectory(gateway, err);
            if (dir == null) {
                return 1;
            }
            Clock clock = Clock.systemUTC();
            Duration ttl = o.one("--token-ttl") == null ? Duration.ofHours(1) : Units.duration(o.one("--token-ttl"));
            String expiry = o.one("--expires");
            Instant expires = expiry == null ? null : ExpiryParser.parse(expiry, clock.instant());
            // The CA too, so its ca.pem can go to connectors before the gateway's first start.
            ConnectorCa.open(dir, clock, new SecureRandom());
            String token = new EnrolmentStore(dir, clock, new SecureRandom()).createToken(o.one("--name"),
                    o.all("--app"), ttl, expires, "cli:" + System.getProperty("user.name", "unknown"));
            out.println(token);
            return 0;
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 1;
        } catch (IllegalArgumentException e) {
            err.println("pep connector: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("pep connector: cannot create the token: " + e.getMessage());
            return 1;
        }
    }

    private static int revoke(List<String> args, PrintStream out, PrintStream err) {
        Options o = Options.parse(args, err, List.of("--config", "--name"));
        if (o == null || o.one("--config") == null || o.one("--name") == null) {
            err.print(USAGE);
            return 2;
        }
        try {
            GatewayConfig gateway = ConfigLoader.load(Path.of(o.one("--config")));
            Path dir = stateDirectory(gateway, err);
            if (dir == null) {
                return 1;
            }
            int n = new EnrolmentStore(dir, Clock.systemUTC(), new SecureRandom()).revoke(o.one("--name"),
                    "cli:" + System.getProperty("user.name", "unknown")).size();
            if (n == 0) {
                err.println("pep connector: no enrolled, unrevoked connector named '" + o.one("--name") + "'");
                return 1;
            }
            out.println("revoked " + n + " enrolment" + (n == 1 ? "" : "s") + " of connector " + o.one("--name"));
            return 0;
        } catch (ConfigException e) {
            err.println(e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("pep connector: cannot revoke: " + e.getMessage());
            return 1;
        }
    }

    private static Path stateDirectory(GatewayConfig gateway, PrintStream err) {
        if (gateway.connectors() == null) {
            err.println("pep connector: the gateway configuration has no 'connectors' section");
            return null;
        }
        return gateway.resolve(gateway.connectors().stateDirectory());
    }

    /** {@code --key value} options, some repeatable. */
    private record Options(List<String[]> pairs) {

        static Options parse(List<String> args, PrintStream err, List<String> known) {
            List<String[]> pairs = new ArrayList<>();
            for (int i = 0; i < args.size(); i++) {
                String k = args.get(i);
                if (!known.contains(k) || i + 1 >= args.size()) {
                    err.println("pep connector: unexpected '" + k + "'; expected one of " + known + " with a value");
                    return null;
                }
                pairs.add(new String[] {k, args.get(++i)});
            }
            return new Options(pairs);
        }

        String one(String key) {
            String v = null;
            for (String[] p : pairs) {
                if (p[0].equals(key)) {
                    v = p[1];
                }
            }
            return v;
        }

        List<String> all(String key) {
            return pairs.stream().filter(p -> p[0].equals(key)).map(p -> p[1]).toList();
        }
    }
}
