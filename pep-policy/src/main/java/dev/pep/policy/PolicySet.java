package dev.pep.policy;

import dev.cel.runtime.Program;
import dev.pep.core.AccessRequest;
import dev.pep.core.App;
import dev.pep.core.Decision;
import dev.pep.core.DecisionReason;
import dev.pep.core.Effect;
import dev.pep.core.PolicyVersion;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One loaded, compiled, immutable policy version: its apps and its rules indexed by app.
 *
 * <p>Each app holds its own rules and the rules for all apps, split into denies and allows, so
 * a decision costs what that app's rules cost, whatever the other apps have. Thread-safe.
 */
final class PolicySet {

    /** How long an allow may be reused when its rule asks for no re-evaluation interval. */
    static final Duration DEFAULT_TTL = Duration.ofMinutes(1);

    private static final Logger LOG = LoggerFactory.getLogger(PolicySet.class);
    private static final DecisionReason ALLOWED =
            DecisionReason.of(DecisionReason.RULE_ALLOWED, "access allowed by policy");
    private static final DecisionReason DENIED =
            DecisionReason.of(DecisionReason.RULE_DENIED, "access denied by policy");
    private static final DecisionReason NO_MATCH =
            DecisionReason.of(DecisionReason.NO_MATCHING_RULE, "no policy allows this access");
    private static final DecisionReason FAILED =
            DecisionReason.of(DecisionReason.EVALUATION_ERROR, "access could not be decided");
    private static final DecisionReason EXPIRED =
            DecisionReason.of(DecisionReason.APP_EXPIRED, "this application has expired");
    private static final DecisionReason UNKNOWN =
            DecisionReason.of(PolicyReasons.UNKNOWN_APP, "this application is not known");
    private static final DecisionReason NOT_MANAGED = DecisionReason.of(
            DecisionReason.DEVICE_NOT_MANAGED, "this application requires a managed device");
    private static final DecisionReason POSTURE_STALE = DecisionReason.of(
            DecisionReason.DEVICE_POSTURE_STALE,
            "this application requires a recent check of your device");
    private static final DecisionReason REQUIREMENT_NOT_MET = DecisionReason.of(
            DecisionReason.DEVICE_REQUIREMENT_NOT_MET,
            "this application requires a device that meets its security requirements");
    /** A term that reads the device and nothing else. */
    private static final Pattern DEVICE_ONLY = Pattern.compile(
            "(?s)(?!.*\\b(?:subject|request|source|app|context)\\.).*\\bdevice\\..*");

    private final PolicyVersion version;
    private final Map<String, App> fileApps;
    private final Map<String, App> runtimeApps;
    private final List<PolicyFileParser.RuleSpec> declared;
    private final Map<String, App> apps;
    private final Map<String, AppRules> rules;
    private final List<App> appList;
    private final Map<String, String> fingerprints;
    private final Map<String, Program> termPrograms = new ConcurrentHashMap<>();

    PolicySet(PolicyVersion version, Map<String, App> apps,
            List<PolicyFileParser.RuleSpec> declared) {
        this(version, apps, Map.of(), declared);
    }

    /** The files' apps and rules, joined by apps registered at run time (names and hosts apart). */
    private PolicySet(PolicyVersion version, Map<String, App> fileApps, Map<String, App> runtimeApps,
            List<PolicyFileParser.RuleSpec> declared) {
        this.version = version;
        this.fileApps = Collections.unmodifiableMap(new LinkedHashMap<>(fileApps));
        this.runtimeApps = Collections.unmodifiableMap(new LinkedHashMap<>(runtimeApps));
        this.declared = List.copyOf(declared);
        Map<String, App> all = new LinkedHashMap<>(fileApps);
        all.putAll(runtimeApps);
        this.apps = Map.copyOf(all);
        Map<String, AppRules> index = new HashMap<>();
        Map<String, String> prints = new HashMap<>();
        for (App app : all.values()) {
            List<PolicyFileParser.RuleSpec> own = declared.stream().filter(r -> r.selects(app)).toList();
            index.put(app.name(), AppRules.of(own));
            prints.put(app.name(), fingerprint(app, own, version));
        }
        this.rules = Map.copyOf(index);
        this.fingerprints = Map.copyOf(prints);
        this.appList = List.copyOf(all.values());
    }

    PolicyVersion version() {
        return version;
    }

    /** The files' apps in declaration order, then the run-time apps in registration order. */
    List<App> apps() {
        return appList;
    }

    /**
     * Per app, a digest of everything that decides its requests: the app as declared and its
     * rules in order (ids, effects, conditions as written, obligations). Two versions whose
     * digests for an app agree decide that app's requests alike.
     */
    Map<String, String> fingerprints() {
        return fingerprints;
    }

    /** Whether the app comes from the policy files (not from a run-time registration). */
    boolean declaredInFiles(String app) {
        return fileApps.containsKey(app);
    }

    /**
     * This version with these run-time apps in place of the ones it had.
     *
     * @throws IllegalArgumentException when one takes a name or host another app has
     */
    PolicySet withRuntimeApps(Map<String, App> runtime) {
        Map<String, String> owners = hostOwners(fileApps.values());
        Map<String, App> added = new LinkedHashMap<>();
        for (App app : runtime.values()) {
            Optional<String> conflict = conflict(app, added, owners);
            if (conflict.isPresent()) {
                throw new IllegalArgumentException(conflict.get());
            }
            added.put(app.name(), app);
            app.hosts().forEach(host -> owners.put(host, app.name()));
        }
        return new PolicySet(version, fileApps, added, declared);
    }

    /** Why {@code app} cannot join this set's apps at run time; empty when it can. */
    Optional<String> conflict(App app) {
        return conflict(app, runtimeApps, hostOwners(appList));
    }

    /** The conflict check against these run-time apps and host owners: one lookup per host. */
    private Optional<String> conflict(App app, Map<String, App> runtime, Map<String, String> owners) {
        if (fileApps.containsKey(app.name())) {
            return Optional.of("app '" + app.name() + "' is declared in the policy files");
        }
        if (runtime.containsKey(app.name())) {
            return Optional.of("app '" + app.name() + "' is already registered; delete it first");
        }
        for (String host : app.hosts()) {
            String owner = owners.get(host);
            if (owner != null) {
                return Optional.of("host '" + host + "' is already routed to app '" + owner + "'");
            }
        }
        return Optional.empty();
    }

    private static Map<String, String> hostOwners(Iterable<App> apps) {
        Map<String, String> owners = new HashMap<>();
        for (App app : apps) {
            app.hosts().forEach(host -> owners.putIfAbsent(host, app.name()));
        }
        return owners;
    }

    /** The run-time apps this set holds, in registration order. */
    Map<String, App> runtimeApps() {
        return runtimeApps;
    }

    /** Decides; never throws. */
    Decision decide(AccessRequest request) {
        try {
            Decision decision = decideOrThrow(request);
            if (LOG.isDebugEnabled()) {
                LOG.debug("policy decided request_id={} app={} effect={} rule={} reason={} "
                        + "version={}", request.requestId(), request.app().name(),
                        decision.effect(), decision.ruleId().orElse("-"),
                        decision.primaryReason().code(), version);
            }
            return decision;
        } catch (RuntimeException e) {
            LOG.debug("policy evaluation failed request_id={} app={} error={}",
                    request.requestId(), request.app().name(), e.toString());
            return Decision.deny(version, FAILED);
        }
    }

    /** Decides and lists every rule considered, with each top-level term's result. */
    Explanation explain(AccessRequest request) {
        Decision decision = decide(request);
        AppRules appRules = rules.get(request.app().name());
        List<Explanation.RuleTrace> traces = new ArrayList<>();
        if (appRules != null) {
            Map<String, Object> vars = Activation.of(request, apps.get(request.app().name()),
                    version);
            for (PolicyFileParser.RuleSpec rule : appRules.declared) {
                traces.add(trace(rule, vars));
            }
        }
        return new Explanation(decision, request.app().name(), traces);
    }

    private Decision decideOrThrow(AccessRequest request) {
        AppRules appRules = rules.get(request.app().name());
        if (appRules == null) {
            return Decision.deny(version, UNKNOWN);
        }
        App app = apps.get(request.app().name());
        if (app.expiredAt(request.time())) {
            return Decision.deny(version, EXPIRED);
        }
        Map<String, Object> vars = Activation.of(request, app, version);
        Set<String> groups = request.subject().groups();
        Set<String> roles = request.subject().roles();
        String method = request.request().method();
        for (PolicyFileParser.RuleSpec rule : appRules.denies) {
            if (!rule.condition().guard().admits(groups, roles, method)) {
                continue;
            }
            Boolean matched = matches(rule, vars, request);
            if (matched == null) {
                // A deny rule that cannot be evaluated might have matched: fail closed.
                return Decision.deny(version, FAILED);
            }
            if (matched) {
                return new Decision(Effect.DENY, Optional.of(rule.id()), version,
                        List.of(DENIED), List.of(), Duration.ZERO);
            }
        }
        boolean failed = false;
        // LIMITATION(L-104): the first matching allow decides; others' obligations are not merged.
        for (int index : appRules.allowCandidates(groups, roles)) {
            PolicyFileParser.RuleSpec rule = appRules.allows[index];
            if (!rule.condition().guard().admits(groups, roles, method)) {
                continue;
            }
            Boolean matched = matches(rule, vars, request);
            if (matched == Boolean.TRUE) {
                return allow(rule, app, request);
            }
            failed |= matched == null;
        }
        if (failed) {
            return Decision.deny(version, FAILED);
        }
        Optional<DecisionReason> device = deviceShortfall(appRules, vars, groups, roles, method);
        return device.isEmpty() ? Decision.deny(version, NO_MATCH)
                : new Decision(Effect.DENY, Optional.empty(), version,
                        List.of(NO_MATCH, device.get()), List.of(), Duration.ZERO);
    }

    /**
     * Why the device kept an allow rule from matching: the first allow rule (that the subject's
     * groups, roles and method admit) whose top-level terms all hold except terms about the
     * device alone. Only looked for when nothing allowed, so allowed requests pay nothing.
     */
    private Optional<DecisionReason> deviceShortfall(AppRules appRules, Map<String, Object> vars,
            Set<String> groups, Set<String> roles, String method) {
        for (int index : appRules.allowCandidates(groups, roles)) {
            PolicyFileParser.RuleSpec rule = appRules.allows[index];
            if (rule.condition().guard().admits(groups, roles, method)) {
                Optional<DecisionReason> reason = deviceShortfall(rule.condition(), vars);
                if (reason.isPresent()) {
                    return reason;
                }
            }
        }
        return Optional.empty();
    }

    private Optional<DecisionReason> deviceShortfall(Conditions.Condition condition,
            Map<String, Object> vars) {
        if (condition.operator().equals("||")) {
            return Optional.empty();
        }
        List<String> failing = new ArrayList<>();
        for (String term : condition.terms()) {
            Boolean holds = termValue(term, vars);
            if (Boolean.TRUE.equals(holds)) {
                continue;
            }
            if (!DEVICE_ONLY.matcher(term).matches()) {
                return Optional.empty();
            }
            // A device term that cannot be evaluated on its own reads a signal the device lacks
            // (its guard, an earlier term, is false): the device fell short there too.
            failing.add(term);
        }
        if (failing.isEmpty()) {
            return Optional.empty();
        }
        if (failing.stream().anyMatch(t -> t.contains("device.managed"))) {
            return Optional.of(NOT_MANAGED);
        }
        return Optional.of(failing.stream().anyMatch(t -> t.contains("age")) ? POSTURE_STALE
                : REQUIREMENT_NOT_MET);
    }

    private Decision allow(PolicyFileParser.RuleSpec rule, App app, AccessRequest request) {
        // LIMITATION(L-101): the ttl ignores time-dependent conditions (device.age, inWindow).
        Duration ttl = rule.obligations().reevaluate() == null ? DEFAULT_TTL
                : rule.obligations().reevaluate();
        if (app.expires().isPresent()) {
            Duration left = Duration.between(request.time(), app.expires().get());
            ttl = left.compareTo(ttl) < 0 ? left : ttl;
        }
        return new Decision(Effect.ALLOW, Optional.of(rule.id()), version, List.of(ALLOWED),
                rule.obligations().render(request, version), ttl);
    }

    /** True, false, or null when the condition could not be evaluated. */
    private static Boolean matches(PolicyFileParser.RuleSpec rule, Map<String, Object> vars,
            AccessRequest request) {
        try {
            return rule.condition().evaluate(vars);
        } catch (Exception e) {
            LOG.debug("condition failed request_id={} rule={} error={}", request.requestId(),
                    rule.id(), e.getMessage());
            return null;
        }
    }

    private Explanation.RuleTrace trace(PolicyFileParser.RuleSpec rule, Map<String, Object> vars) {
        Explanation.Outcome outcome;
        String error = "";
        try {
            outcome = rule.condition().evaluate(vars) ? Explanation.Outcome.MATCHED
                    : Explanation.Outcome.NOT_MATCHED;
        } catch (Exception e) {
            outcome = Explanation.Outcome.ERROR;
            error = String.valueOf(e.getMessage());
        }
        List<Explanation.TermTrace> terms = new ArrayList<>();
        for (String term : rule.condition().terms()) {
            terms.add(new Explanation.TermTrace(term, termResult(term, vars)));
        }
        return new Explanation.RuleTrace(rule.id(), rule.effect(), rule.where().toString(),
                outcome, error, rule.condition().operator(), terms);
    }

    private String termResult(String term, Map<String, Object> vars) {
        try {
            return String.valueOf(Conditions.Condition.evaluate(termProgram(term), vars));
        } catch (Exception e) {
            return "error: " + e.getMessage();
        }
    }

    /** A term's value; null when it cannot be evaluated. */
    private Boolean termValue(String term, Map<String, Object> vars) {
        try {
            return Conditions.Condition.evaluate(termProgram(term), vars);
        } catch (Exception e) {
            return null;
        }
    }

    private Program termProgram(String term) throws Exception {
        Program program = termPrograms.get(term);
        if (program == null) {
            program = Conditions.compileTerm(term);
            termPrograms.put(term, program);
        }
        return program;
    }

    /**
     * The rules of one app: denies, allows in declaration order, and the allows indexed by the
     * first group (else role) their {@link Guard} requires, so only rules the subject's groups
     * and roles admit are evaluated.
     */
    private static String fingerprint(App app, List<PolicyFileParser.RuleSpec> rules,
            PolicyVersion version) {
        StringBuilder text = new StringBuilder().append(app.name()).append('|').append(app.hosts())
                .append('|').append(app.protocol()).append('|').append(app.upstream()).append('|')
                .append(new TreeMap<>(app.labels())).append('|').append(app.episodic()).append('|')
                .append(app.expires()).append('|').append(app.preamble()).append('\n');
        for (PolicyFileParser.RuleSpec r : rules) {
            Obligations o = r.obligations();
            text.append(r.id()).append('|').append(r.effect()).append('|')
                    .append(r.condition() == null ? "" : r.condition().text()).append('|')
                    .append(o.readOnly()).append('|').append(o.maxSession()).append('|')
                    .append(o.idle()).append('|').append(o.reevaluate()).append('|');
            o.headers().forEach(h -> text.append(h.describe()).append(';'));
            if (r.condition() != null && r.condition().text().contains("policy_version")) {
                // The rule reads the version itself: every new version may decide it otherwise.
                text.append(version.id());
            }
            text.append('\n');
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(sha.digest(text.toString().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static final class AppRules {
        private static final int[] NONE = new int[0];

        final PolicyFileParser.RuleSpec[] denies;
        final PolicyFileParser.RuleSpec[] allows;
        final List<PolicyFileParser.RuleSpec> declared;
        private final Map<String, int[]> byGroup;
        private final Map<String, int[]> byRole;
        private final int[] unindexed;

        private AppRules(PolicyFileParser.RuleSpec[] denies, PolicyFileParser.RuleSpec[] allows,
                List<PolicyFileParser.RuleSpec> declared, Map<String, int[]> byGroup,
                Map<String, int[]> byRole, int[] unindexed) {
            this.denies = denies;
            this.allows = allows;
            this.declared = declared;
            this.byGroup = byGroup;
            this.byRole = byRole;
            this.unindexed = unindexed;
        }

        static AppRules of(List<PolicyFileParser.RuleSpec> declared) {
            PolicyFileParser.RuleSpec[] allows = declared.stream()
                    .filter(r -> r.effect() == Effect.ALLOW)
                    .toArray(PolicyFileParser.RuleSpec[]::new);
            Map<String, List<Integer>> byGroup = new HashMap<>();
            Map<String, List<Integer>> byRole = new HashMap<>();
            List<Integer> unindexed = new ArrayList<>();
            for (int i = 0; i < allows.length; i++) {
                Guard guard = allows[i].condition().guard();
                if (!guard.groups().isEmpty()) {
                    byGroup.computeIfAbsent(guard.groups().iterator().next(),
                            k -> new ArrayList<>()).add(i);
                } else if (!guard.roles().isEmpty()) {
                    byRole.computeIfAbsent(guard.roles().iterator().next(),
                            k -> new ArrayList<>()).add(i);
                } else {
                    unindexed.add(i);
                }
            }
            return new AppRules(declared.stream().filter(r -> r.effect() == Effect.DENY)
                    .toArray(PolicyFileParser.RuleSpec[]::new), allows, List.copyOf(declared),
                    ints(byGroup), ints(byRole), ints(unindexed));
        }

        /** The allows that the subject's groups and roles admit, in declaration order. */
        int[] allowCandidates(Set<String> groups, Set<String> roles) {
            if (byGroup.isEmpty() && byRole.isEmpty()) {
                return unindexed;
            }
            int[] found = unindexed;
            for (String group : groups) {
                found = concat(found, byGroup.getOrDefault(group, NONE));
            }
            for (String role : roles) {
                found = concat(found, byRole.getOrDefault(role, NONE));
            }
            if (found != unindexed) {
                Arrays.sort(found);
            }
            return found;
        }

        private static int[] concat(int[] a, int[] b) {
            if (b.length == 0) {
                return a;
            }
            int[] out = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, out, a.length, b.length);
            return out;
        }

        private static Map<String, int[]> ints(Map<String, List<Integer>> lists) {
            Map<String, int[]> out = new HashMap<>();
            lists.forEach((k, v) -> out.put(k, ints(v)));
            return Map.copyOf(out);
        }

        private static int[] ints(List<Integer> list) {
            return list.stream().mapToInt(Integer::intValue).toArray();
        }
    }
}
