package dev.pep.policy;

import dev.pep.core.App;
import dev.pep.core.AppProtocol;
import dev.pep.core.Effect;
import dev.pep.core.Obligation;
import dev.pep.core.StreamPreamble;
import java.io.StringReader;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads one policy file into app and rule specifications, recording every problem with its
 * position and going on after each, so one load reports them all.
 *
 * <p>A YAML syntax error ends the reading of that file (the parser cannot go on past it).
 */
final class PolicyFileParser {

    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*");
    private static final Pattern RULE_ID = Pattern.compile("[a-z0-9][a-z0-9._-]*");
    private static final Pattern HOST = Pattern.compile(
            "[a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*");
    private static final Pattern HEADER = Pattern.compile("[A-Za-z0-9!#$%&'*+.^`|~-]+");
    private static final Set<String> TOP_KEYS = Set.of("apps", "rules", "description");
    private static final Set<String> APP_KEYS = Set.of("hosts", "protocol", "upstream",
            "connector", "lifecycle", "expires", "labels", "description", "preamble");
    private static final Set<String> RULE_KEYS =
            Set.of("id", "apps", "app-labels", "effect", "when", "obligations", "description");
    private static final Set<String> OBLIGATION_KEYS =
            Set.of("isolation", "max-session", "idle", "reevaluate", "headers", "assertion");
    private static final Set<String> ASSERTION_KEYS = Set.of("header", "lifetime");
    private static final Set<String> URI_SCHEMES = Set.of("http", "https", "tcp", "tls", "pep");

    private final String file;
    private final List<String> lines;
    private final List<PolicyError> errors;
    private final List<AppSpec> apps = new ArrayList<>();
    private final List<RuleSpec> rules = new ArrayList<>();
    private final List<AppReference> appReferences = new ArrayList<>();
    private final List<RuleId> ruleIds = new ArrayList<>();

    private PolicyFileParser(String file, String content, List<PolicyError> errors) {
        this.file = file;
        this.lines = content.lines().toList();
        this.errors = errors;
    }

    /** An app as declared, with where its name and hosts are. */
    record AppSpec(App app, Where where, Map<String, Where> hosts) {
    }

    /**
     * A rule as declared, its condition compiled. It applies to the apps it names, to the apps
     * whose labels include all of its {@code appLabels}, and to every app when it has neither.
     */
    record RuleSpec(String id, Where where, Effect effect, Map<String, Where> apps,
            Map<String, String> appLabels, Conditions.Condition condition,
            Obligations obligations) {

        /** Whether the rule applies to {@code app}. */
        boolean selects(App app) {
            if (apps.isEmpty() && appLabels.isEmpty()) {
                return true;
            }
            return apps.containsKey(app.name()) || !appLabels.isEmpty()
                    && app.labels().entrySet().containsAll(appLabels.entrySet());
        }
    }

    /**
     * One app declared on its own, as the admin API receives it: a mapping with the app's
     * {@code name} beside the keys of an app in a policy file, checked by the same rules.
     *
     * @param source what to call the document in errors, for example {@code request body}
     */
    static PolicyFileParser parseApp(String source, String content, List<PolicyError> errors) {
        PolicyFileParser parser = new PolicyFileParser(source, content, errors);
        Node root = parser.compose(content);
        if (root == null) {
            if (errors.isEmpty()) {
                errors.add(new PolicyError(source, 0, 0, "expected an app: a mapping with a name"));
            }
            return parser;
        }
        if (!(root instanceof MappingNode map)) {
            parser.error(root, "expected an app: a mapping with a name");
            return parser;
        }
        List<NodeTuple> rest = new ArrayList<>();
        Node nameKey = null;
        String name = null;
        for (NodeTuple tuple : map.getValue()) {
            if (tuple.getKeyNode() instanceof ScalarNode k && "name".equals(k.getValue())
                    && nameKey == null) {
                nameKey = k;
                name = parser.scalar(tuple.getValueNode(), "an app name");
            } else {
                rest.add(tuple);
            }
        }
        if (nameKey == null) {
            parser.error(root, "app needs a name");
        } else if (name != null) {
            MappingNode body = new MappingNode(map.getTag(), true, rest, map.getStartMark(),
                    map.getEndMark(), map.getFlowStyle());
            parser.parseApp(name, new Entry(nameKey, body));
        }
        return parser;
    }

    /** A rule's mention of an app, checked across files even when the rule is invalid. */
    record AppReference(String rule, String app, Where where) {
    }

    /** A rule's id and where it is, kept even when the rule is invalid, to find duplicates. */
    record RuleId(String id, Where where) {
    }

    /** The apps and rules of one file, problems added to {@code errors}. */
    static PolicyFileParser parse(String file, String content, List<PolicyError> errors) {
        PolicyFileParser parser = new PolicyFileParser(file, content, errors);
        parser.parseDocument(content);
        return parser;
    }

    List<AppSpec> apps() {
        return apps;
    }

    List<RuleSpec> rules() {
        return rules;
    }

    List<AppReference> appReferences() {
        return appReferences;
    }

    List<RuleId> ruleIds() {
        return ruleIds;
    }

    private void parseDocument(String content) {
        Node root = compose(content);
        if (root == null) {
            return;
        }
        Map<String, Entry> top = mapping(root, "the file", TOP_KEYS);
        if (top.containsKey("apps")) {
            Node node = top.get("apps").value;
            mapping(node, "apps", null).forEach((name, e) -> parseApp(name, e));
        }
        if (top.containsKey("rules")) {
            for (Node rule : sequence(top.get("rules").value, "rules")) {
                parseRule(rule);
            }
        }
    }

    /** The document's root node; null when it is empty or not YAML (an error then says why). */
    private Node compose(String content) {
        try {
            LoaderOptions options = new LoaderOptions();
            options.setMaxAliasesForCollections(20);
            return new Yaml(options).compose(new StringReader(content));
        } catch (MarkedYAMLException e) {
            // LIMITATION(L-102): the YAML parser stops at the first syntax error of a file.
            int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
            int column = e.getProblemMark() == null ? 0 : e.getProblemMark().getColumn() + 1;
            errors.add(new PolicyError(file, line, column, "YAML syntax: " + e.getProblem()));
        } catch (YAMLException e) {
            errors.add(new PolicyError(file, 0, 0, "YAML: " + e.getMessage()));
        }
        return null;
    }

    private void parseApp(String name, Entry entry) {
        if (!NAME.matcher(name).matches()) {
            error(entry.key, "app name '" + name + "' must match " + NAME.pattern());
        }
        Map<String, Entry> app = mapping(entry.value, "app " + name, APP_KEYS);
        Map<String, Where> hosts = new LinkedHashMap<>();
        if (!app.containsKey("hosts")) {
            error(entry.key, "app " + name + " needs hosts: a list of host names");
        } else {
            for (Node host : sequence(app.get("hosts").value, "hosts")) {
                String h = scalar(host, "a host name");
                if (h != null && !HOST.matcher(h).matches()) {
                    error(host, "host '" + h + "' must be a lower-case DNS name without port "
                            + "or trailing dot");
                } else if (h != null && hosts.putIfAbsent(h, where(host)) != null) {
                    error(host, "host '" + h + "' listed twice");
                }
            }
        }
        AppProtocol protocol = protocol(app.get("protocol"));
        URI upstream = upstream(name, entry.key, app.get("upstream"), app.get("connector"));
        if (upstream != null && app.containsKey("upstream") && !fits(protocol, upstream, app.get("upstream"))) {
            upstream = null;
        }
        boolean episodic = lifecycle(app.get("lifecycle"));
        Instant expires = expires(app.get("expires"), episodic);
        Map<String, String> labels = labels(app.get("labels"), "labels");
        StreamPreamble preamble = preamble(app.get("preamble"), protocol);
        if (!hosts.isEmpty() && upstream != null && NAME.matcher(name).matches()) {
            App value = new App(name, List.copyOf(hosts.keySet()), protocol, upstream, labels,
                    episodic, java.util.Optional.ofNullable(expires), preamble);
            apps.add(new AppSpec(value, where(entry.key), hosts));
        }
    }

    private AppProtocol protocol(Entry entry) {
        if (entry == null) {
            return AppProtocol.HTTP;
        }
        String text = scalar(entry.value, "http or tcp");
        if ("http".equals(text)) {
            return AppProtocol.HTTP;
        }
        if ("tcp".equals(text)) {
            return AppProtocol.TCP;
        }
        if (text != null) {
            error(entry.value, "protocol '" + text + "': expected http or tcp");
        }
        return AppProtocol.HTTP;
    }

    /** {@code preamble: postgres}: a TCP app whose clients ask for TLS the PostgreSQL way. */
    private StreamPreamble preamble(Entry entry, AppProtocol protocol) {
        if (entry == null) {
            return StreamPreamble.NONE;
        }
        String text = scalar(entry.value, "postgres or none");
        if ("none".equals(text)) {
            return StreamPreamble.NONE;
        }
        if (!"postgres".equals(text)) {
            if (text != null) {
                error(entry.value, "preamble '" + text + "': expected postgres or none");
            }
            return StreamPreamble.NONE;
        }
        if (protocol != AppProtocol.TCP) {
            error(entry.key, "preamble applies only to apps with protocol: tcp");
            return StreamPreamble.NONE;
        }
        return StreamPreamble.POSTGRES;
    }

    private URI upstream(String name, Node at, Entry upstream, Entry connector) {
        if ((upstream == null) == (connector == null)) {
            error(at, "app " + name + " needs exactly one of upstream (a URI) or connector "
                    + "(a connector name)");
            return null;
        }
        if (connector != null) {
            String c = scalar(connector.value, "a connector name");
            if (c != null && !NAME.matcher(c).matches()) {
                error(connector.value, "connector '" + c + "' must match " + NAME.pattern());
                return null;
            }
            return c == null ? null : URI.create("connector:" + c);
        }
        String u = scalar(upstream.value, "a URI");
        if (u == null) {
            return null;
        }
        try {
            URI uri = new URI(u);
            if (uri.getScheme() == null || !URI_SCHEMES.contains(uri.getScheme())) {
                error(upstream.value, "upstream '" + u + "': expected a URI with scheme "
                        + "http, https, tcp, tls or pep (pep:echo)");
                return null;
            }
            return uri;
        } catch (URISyntaxException e) {
            error(upstream.value, "upstream '" + u + "' is not a URI: " + e.getReason());
            return null;
        }
    }

    /** A TCP app is spliced to tcp://host:port or tls://host:port; an HTTP app never is. */
    private boolean fits(AppProtocol protocol, URI upstream, Entry at) {
        boolean stream = "tcp".equals(upstream.getScheme()) || "tls".equals(upstream.getScheme());
        if (protocol == AppProtocol.TCP && (!stream || upstream.getHost() == null
                || upstream.getPort() <= 0 || !upstream.getRawPath().isEmpty())) {
            error(at.value, "upstream '" + upstream + "': a tcp app expects tcp://host:port "
                    + "or tls://host:port");
            return false;
        }
        if (protocol == AppProtocol.HTTP && stream) {
            error(at.value, "upstream '" + upstream + "': tcp:// and tls:// are for apps with "
                    + "protocol: tcp");
            return false;
        }
        return true;
    }

    private boolean lifecycle(Entry entry) {
        if (entry == null) {
            return false;
        }
        String text = scalar(entry.value, "permanent or episodic");
        if (text != null && !text.equals("permanent") && !text.equals("episodic")) {
            error(entry.value, "lifecycle '" + text + "': expected permanent or episodic");
        }
        return "episodic".equals(text);
    }

    private Instant expires(Entry entry, boolean episodic) {
        if (entry == null) {
            return null;
        }
        String text = scalar(entry.value, "a timestamp");
        if (text == null) {
            return null;
        }
        if (!episodic) {
            error(entry.key, "expires applies only to apps with lifecycle: episodic");
        }
        try {
            return OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            error(entry.value, "expires '" + text + "': expected an RFC 3339 timestamp such "
                    + "as 2027-01-31T00:00:00Z");
            return null;
        }
    }

    private Map<String, String> labels(Entry entry, String what) {
        Map<String, String> labels = new HashMap<>();
        if (entry != null) {
            mapping(entry.value, what, null).forEach((k, e) -> {
                String v = scalar(e.value, "a label value");
                if (v != null) {
                    labels.put(k, v);
                }
            });
        }
        return labels;
    }

    private void parseRule(Node node) {
        Map<String, Entry> rule = mapping(node, "a rule", RULE_KEYS);
        if (!(node instanceof MappingNode)) {
            return;
        }
        String id = rule.containsKey("id") ? scalar(rule.get("id").value, "a rule id") : null;
        if (!rule.containsKey("id")) {
            error(node, "rule needs an id");
        } else if (id != null && !RULE_ID.matcher(id).matches()) {
            error(rule.get("id").value, "rule id '" + id + "' must match " + RULE_ID.pattern());
            id = null;
        }
        if (id != null) {
            ruleIds.add(new RuleId(id, where(rule.get("id").value)));
        }
        Effect effect = effect(node, rule.get("effect"));
        Map<String, Where> appNames = new LinkedHashMap<>();
        if (rule.containsKey("apps")) {
            for (Node app : sequence(rule.get("apps").value, "apps")) {
                String name = scalar(app, "an app name");
                if (name != null) {
                    appNames.putIfAbsent(name, where(app));
                    appReferences.add(new AppReference(id == null ? "?" : id, name, where(app)));
                }
            }
        }
        Map<String, String> appLabels = labels(rule.get("app-labels"), "app-labels");
        Conditions.Condition condition = condition(node, rule.get("when"));
        Obligations obligations = obligations(rule.get("obligations"), effect);
        if (id != null && effect != null && condition != null && obligations != null) {
            Where where = where(rule.get("id").value);
            rules.add(new RuleSpec(id, where, effect, appNames, Map.copyOf(appLabels), condition,
                    obligations));
        }
    }

    private Effect effect(Node rule, Entry entry) {
        if (entry == null) {
            error(rule, "rule needs an effect: allow or deny");
            return null;
        }
        String text = scalar(entry.value, "allow or deny");
        if ("allow".equals(text)) {
            return Effect.ALLOW;
        }
        if ("deny".equals(text)) {
            return Effect.DENY;
        }
        if (text != null) {
            error(entry.value, "effect '" + text + "': expected allow or deny");
        }
        return null;
    }

    private Conditions.Condition condition(Node rule, Entry entry) {
        if (entry == null) {
            error(rule, "rule needs a condition (when); write when: \"true\" to match always");
            return null;
        }
        if (!(entry.value instanceof ScalarNode scalar)) {
            error(entry.value, "when: expected a CEL expression (a string)");
            return null;
        }
        if (scalar.getValue().isBlank()) {
            error(entry.value, "when: expected a CEL expression, found nothing");
            return null;
        }
        Conditions.Result result = Conditions.compile(scalar.getValue());
        if (result.condition() != null) {
            return result.condition();
        }
        ExpressionPositions positions = ExpressionPositions.of(scalar, lines);
        for (Conditions.Issue issue : result.issues()) {
            int[] at = positions.locate(issue.line(), issue.column());
            errors.add(new PolicyError(file, at[0], at[1], "condition: " + issue.message()));
        }
        return null;
    }

    private Obligations obligations(Entry entry, Effect effect) {
        if (entry == null) {
            return Obligations.NONE;
        }
        if (effect == Effect.DENY) {
            error(entry.key, "obligations apply only to rules with effect: allow");
            return null;
        }
        Map<String, Entry> o = mapping(entry.value, "obligations", OBLIGATION_KEYS);
        boolean ok = true;
        boolean readOnly = false;
        if (o.containsKey("isolation")) {
            String text = scalar(o.get("isolation").value, "read-only or none");
            readOnly = "read-only".equals(text);
            if (text != null && !readOnly && !"none".equals(text)) {
                error(o.get("isolation").value, "isolation '" + text
                        + "': expected read-only or none");
                ok = false;
            }
        }
        Duration maxSession = duration(o.get("max-session"));
        Duration idle = duration(o.get("idle"));
        Duration reevaluate = duration(o.get("reevaluate"));
        ok &= (o.get("max-session") == null || maxSession != null)
                && (o.get("idle") == null || idle != null)
                && (o.get("reevaluate") == null || reevaluate != null);
        List<HeaderTemplate> headers = new ArrayList<>();
        if (o.containsKey("headers")) {
            for (Map.Entry<String, Entry> h : mapping(o.get("headers").value, "headers", null)
                    .entrySet()) {
                HeaderTemplate header = header(h.getKey(), h.getValue());
                ok &= header != null;
                if (header != null) {
                    headers.add(header);
                }
            }
        }
        Obligation.IdentityAssertion assertion = null;
        if (o.containsKey("assertion")) {
            assertion = assertion(o.get("assertion"));
            ok &= assertion != null;
        }
        return ok ? new Obligations(readOnly, maxSession, idle, reevaluate, headers, assertion) : null;
    }

    /** {@code assertion: {header: NAME, lifetime: DURATION}}; both optional ({@code {}}). */
    private Obligation.IdentityAssertion assertion(Entry entry) {
        Map<String, Entry> a = mapping(entry.value, "assertion", ASSERTION_KEYS);
        String header = Obligation.IdentityAssertion.DEFAULT_HEADER;
        if (a.containsKey("header")) {
            header = scalar(a.get("header").value, "a header name");
            if (header == null) {
                return null;
            }
            if (!HEADER.matcher(header).matches()) {
                error(a.get("header").value, "assertion header '" + header + "' is not an HTTP token");
                return null;
            }
        }
        Duration lifetime = Duration.ofMinutes(2);
        if (a.containsKey("lifetime")) {
            lifetime = duration(a.get("lifetime"));
            if (lifetime == null) {
                return null;
            }
        }
        try {
            return new Obligation.IdentityAssertion(header, lifetime);
        } catch (IllegalArgumentException e) {
            error(a.containsKey("lifetime") ? a.get("lifetime").value : entry.value,
                    "assertion: " + e.getMessage() + "; expected at most 15m");
            return null;
        }
    }

    private HeaderTemplate header(String name, Entry entry) {
        if (!HEADER.matcher(name).matches()) {
            error(entry.key, "header name '" + name + "' is not an HTTP token");
            return null;
        }
        String value = scalar(entry.value, "a header value");
        if (value == null) {
            return null;
        }
        List<String> unknown = HeaderTemplate.unknownPlaceholders(value);
        if (!unknown.isEmpty() || value.indexOf('\n') >= 0 || value.indexOf('\r') >= 0) {
            error(entry.value, "header " + name + ": unknown placeholder " + unknown
                    + " or a line break; expected placeholders among "
                    + HeaderTemplate.placeholders());
            return null;
        }
        return HeaderTemplate.of(name, value);
    }

    private Duration duration(Entry entry) {
        if (entry == null) {
            return null;
        }
        String text = scalar(entry.value, "a duration");
        if (text == null) {
            return null;
        }
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            error(entry.value, "'" + text + "': " + e.getMessage());
            return null;
        }
    }

    private Map<String, Entry> mapping(Node node, String what, Set<String> allowedKeys) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        if (!(node instanceof MappingNode map)) {
            if (!isNull(node)) {
                error(node, what + ": expected a mapping");
            }
            return entries;
        }
        for (NodeTuple tuple : map.getValue()) {
            String key = scalar(tuple.getKeyNode(), "a key");
            if (key == null) {
                continue;
            }
            if (allowedKeys != null && !allowedKeys.contains(key)) {
                error(tuple.getKeyNode(), "unknown key '" + key + "' in " + what
                        + "; expected one of " + new java.util.TreeSet<>(allowedKeys));
            } else if (entries.containsKey(key)) {
                error(tuple.getKeyNode(), "duplicate key '" + key + "' in " + what
                        + "; first at " + where(entries.get(key).key));
            } else {
                entries.put(key, new Entry(tuple.getKeyNode(), tuple.getValueNode()));
            }
        }
        return entries;
    }

    private List<Node> sequence(Node node, String what) {
        if (node instanceof SequenceNode seq) {
            return seq.getValue();
        }
        if (!isNull(node)) {
            error(node, what + ": expected a list");
        }
        return List.of();
    }

    private String scalar(Node node, String expected) {
        if (node instanceof ScalarNode s && !Tag.NULL.equals(s.getTag())) {
            return s.getValue();
        }
        error(node, "expected " + expected);
        return null;
    }

    private static boolean isNull(Node node) {
        return node instanceof ScalarNode s && Tag.NULL.equals(s.getTag());
    }

    private Where where(Node node) {
        return Where.of(file, node);
    }

    private void error(Node node, String message) {
        errors.add(where(node).error(message));
    }

    private record Entry(Node key, Node value) {
    }
}
