package dev.pep.proxy.config;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Checks a connector's file beyond binding: names, addresses, files that must exist. */
final class ConnectorValidator {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");

    private final String file;
    private final KeyLocations locations;
    private final List<ConfigProblem> problems = new ArrayList<>();

    ConnectorValidator(String file, KeyLocations locations) {
        this.file = file;
        this.locations = locations;
    }

    List<ConfigProblem> check(ConnectorConfig c) {
        if (c.name() == null || !NAME.matcher(c.name()).matches()) {
            add("name", "expected the connector's name (lower-case letters, digits, '-' or '_'), got '"
                    + c.name() + "'");
        }
        if (c.gateways().isEmpty()) {
            add("gateways", "expected at least one gateway, as '- address: host:port'");
        }
        for (int i = 0; i < c.gateways().size(); i++) {
            hostPort("gateways." + i + ".address", c.gateways().get(i).address());
        }
        if (c.gatewayCa() == null) {
            add("gateway-ca", "missing; expected the gateway's connector CA file (its connectors ca.pem)");
        } else if (!Files.isReadable(c.resolve(c.gatewayCa()))) {
            add("gateway-ca", "cannot read file '" + c.gatewayCa() + "'");
        }
        if (c.stateDirectory() == null || c.stateDirectory().isBlank()) {
            add("state-directory", "missing; expected a directory for the connector's key and certificate");
        }
        if (c.enrolmentTokenFile() == null || c.enrolmentTokenFile().isBlank()) {
            add("enrolment-token-file", "missing; expected the file holding the one-time enrolment token");
        }
        if (c.apps().isEmpty()) {
            add("apps", "expected at least one app, as 'NAME: { address: host:port }'");
        }
        c.apps().forEach((name, app) -> {
            if (!NAME.matcher(name).matches()) {
                add("apps." + name, "invalid app name '" + name + "'; expected the app's name in policy");
            }
            hostPort("apps." + name + ".address", app == null ? null : app.address());
        });
        return problems;
    }

    private void hostPort(String key, String value) {
        int colon = value == null ? -1 : value.lastIndexOf(':');
        if (colon <= 0) {
            add(key, "expected host:port" + (value == null ? "" : ", got '" + value + "'"));
            return;
        }
        try {
            int port = Integer.parseInt(value.substring(colon + 1));
            if (port < 1 || port > 65_535) {
                add(key, "expected a port between 1 and 65535 in '" + value + "'");
            }
        } catch (NumberFormatException e) {
            add(key, "expected host:port, got '" + value + "'");
        }
    }

    private void add(String key, String message) {
        int[] pos = locations.of(key);
        problems.add(new ConfigProblem(file, pos[0], pos[1], key, message));
    }
}
