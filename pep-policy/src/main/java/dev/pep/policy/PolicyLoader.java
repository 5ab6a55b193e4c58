package dev.pep.policy;

import dev.pep.core.App;
import dev.pep.core.PolicyVersion;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Loads a policy directory: every {@code *.yaml} and {@code *.yml} file directly in it, in name
 * order, into one {@link PolicySet}, or every error found.
 */
final class PolicyLoader {

    private PolicyLoader() {
    }

    /** A loaded set, or errors (then {@code set} is null). */
    record Outcome(PolicySet set, List<PolicyError> errors, PolicyVersion version) {
    }

    /** Loads the directory. */
    static Outcome load(Path dir) {
        return load(dir, Map.of());
    }

    /**
     * Loads the directory beside apps registered at run time: a file that declares one of their
     * names or hosts is an error, so a reload never takes a run-time app's place unnoticed.
     */
    static Outcome load(Path dir, Map<String, App> runtimeApps) {
        List<PolicyError> errors = new ArrayList<>();
        Map<String, String> files = read(dir, errors);
        if (!errors.isEmpty()) {
            return new Outcome(null, errors, null);
        }
        PolicyVersion version = version(files);
        List<PolicyFileParser> parsed = new ArrayList<>();
        files.forEach((name, content) -> parsed.add(PolicyFileParser.parse(name, content, errors)));
        Map<String, PolicyFileParser.AppSpec> apps = apps(parsed, errors);
        runtimeConflicts(apps, runtimeApps, errors);
        List<PolicyFileParser.RuleSpec> rules = rules(parsed, apps, errors);
        if (!errors.isEmpty()) {
            errors.sort(Comparator.comparing(PolicyError::file)
                    .thenComparingInt(PolicyError::line).thenComparingInt(PolicyError::column));
            return new Outcome(null, errors, version);
        }
        Map<String, App> loadedApps = new LinkedHashMap<>();
        apps.forEach((name, spec) -> loadedApps.put(name, spec.app()));
        PolicySet set = new PolicySet(version, loadedApps, rules).withRuntimeApps(runtimeApps);
        return new Outcome(set, List.of(), version);
    }

    /** The version the directory would load as, or null when it cannot be read. */
    static PolicyVersion fingerprint(Path dir) {
        List<PolicyError> errors = new ArrayList<>();
        Map<String, String> files = read(dir, errors);
        return errors.isEmpty() ? version(files) : null;
    }

    private static Map<String, PolicyFileParser.AppSpec> apps(List<PolicyFileParser> parsed,
            List<PolicyError> errors) {
        Map<String, PolicyFileParser.AppSpec> apps = new LinkedHashMap<>();
        Map<String, Where> hosts = new LinkedHashMap<>();
        for (PolicyFileParser file : parsed) {
            for (PolicyFileParser.AppSpec app : file.apps()) {
                PolicyFileParser.AppSpec first = apps.putIfAbsent(app.app().name(), app);
                if (first != null) {
                    errors.add(app.where().error("duplicate app '" + app.app().name()
                            + "'; first declared at " + first.where()));
                    continue;
                }
                app.hosts().forEach((host, where) -> {
                    Where firstHost = hosts.putIfAbsent(host, where);
                    if (firstHost != null) {
                        errors.add(where.error("duplicate host '" + host + "'; already routed "
                                + "to another app at " + firstHost));
                    }
                });
            }
        }
        return apps;
    }

    private static void runtimeConflicts(Map<String, PolicyFileParser.AppSpec> apps,
            Map<String, App> runtimeApps, List<PolicyError> errors) {
        Map<String, String> runtimeHosts = new LinkedHashMap<>();
        runtimeApps.values().forEach(a -> a.hosts().forEach(h -> runtimeHosts.put(h, a.name())));
        for (PolicyFileParser.AppSpec app : apps.values()) {
            if (runtimeApps.containsKey(app.app().name())) {
                errors.add(app.where().error("app '" + app.app().name() + "' is registered at "
                        + "run time; remove that registration (admin API) before declaring it "
                        + "in a file"));
            }
            app.hosts().forEach((host, where) -> {
                String owner = runtimeHosts.get(host);
                if (owner != null && !owner.equals(app.app().name())) {
                    errors.add(where.error("host '" + host + "' is routed to run-time app '"
                            + owner + "'; remove that registration (admin API) first"));
                }
            });
        }
    }

    private static List<PolicyFileParser.RuleSpec> rules(List<PolicyFileParser> parsed,
            Map<String, PolicyFileParser.AppSpec> apps, List<PolicyError> errors) {
        List<PolicyFileParser.RuleSpec> rules = new ArrayList<>();
        Map<String, Where> ids = new LinkedHashMap<>();
        for (PolicyFileParser file : parsed) {
            // Ids of invalid rules count too: a duplicate is reported with the rule's other errors.
            for (PolicyFileParser.RuleId rule : file.ruleIds()) {
                Where first = ids.putIfAbsent(rule.id(), rule.where());
                if (first != null) {
                    errors.add(rule.where().error("duplicate rule id '" + rule.id()
                            + "'; first declared at " + first));
                }
            }
            rules.addAll(file.rules());
            for (PolicyFileParser.AppReference ref : file.appReferences()) {
                if (!apps.containsKey(ref.app())) {
                    errors.add(ref.where().error("rule " + ref.rule() + " names unknown app '"
                            + ref.app() + "'; declared apps: " + apps.keySet()));
                }
            }
        }
        return rules;
    }

    private static Map<String, String> read(Path dir, List<PolicyError> errors) {
        Map<String, String> files = new LinkedHashMap<>();
        if (!Files.isDirectory(dir)) {
            errors.add(new PolicyError(dir.toString(), 0, 0, "expected a directory of policy "
                    + "files (*.yaml)"));
            return files;
        }
        try (Stream<Path> list = Files.list(dir)) {
            for (Path file : list.filter(PolicyLoader::isPolicyFile).sorted().toList()) {
                files.put(file.toString(), decode(Files.readAllBytes(file)));
            }
        } catch (CharacterCodingException e) {
            errors.add(new PolicyError(dir.toString(), 0, 0, "a policy file is not UTF-8"));
        } catch (IOException e) {
            errors.add(new PolicyError(dir.toString(), 0, 0, "cannot read: " + e));
        }
        if (errors.isEmpty() && files.isEmpty()) {
            errors.add(new PolicyError(dir.toString(), 0, 0, "no policy files (*.yaml, *.yml)"));
        }
        return files;
    }

    private static boolean isPolicyFile(Path file) {
        String name = file.getFileName().toString();
        return Files.isRegularFile(file) && !name.startsWith(".")
                && (name.endsWith(".yaml") || name.endsWith(".yml"));
    }

    private static String decode(byte[] bytes) throws CharacterCodingException {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    }

    private static PolicyVersion version(Map<String, String> files) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            files.forEach((name, content) -> {
                sha.update(Path.of(name).getFileName().toString().getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
                sha.update(content.getBytes(StandardCharsets.UTF_8));
                sha.update((byte) 0);
            });
            return new PolicyVersion("sha256:" + HexFormat.of().formatHex(sha.digest(), 0, 8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
