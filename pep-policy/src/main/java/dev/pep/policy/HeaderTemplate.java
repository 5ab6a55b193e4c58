package dev.pep.policy;

import dev.pep.core.AccessRequest;
import dev.pep.core.Obligation;
import dev.pep.core.PolicyVersion;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A header obligation whose value may hold placeholders such as {@code ${subject.id}}.
 *
 * <p>Rendered per decision; a value that renders to CR or LF makes the decision an evaluation
 * error (the {@link Obligation.SetHeader} constructor refuses it), so the request is denied.
 */
final class HeaderTemplate {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([a-z_.]+)}");
    private static final Map<String, BiFunction<AccessRequest, PolicyVersion, String>> VALUES =
            Map.of(
                    "subject.id", (r, v) -> r.subject().id(),
                    "subject.issuer", (r, v) -> r.subject().issuer(),
                    "subject.organisation", (r, v) -> r.subject().organisation(),
                    "subject.email", (r, v) -> r.subject().email(),
                    "subject.groups", (r, v) -> String.join(",", new TreeSet<>(r.subject().groups())),
                    "subject.roles", (r, v) -> String.join(",", new TreeSet<>(r.subject().roles())),
                    "subject.method", (r, v) -> r.subject().method().name().toLowerCase(),
                    "app.name", (r, v) -> r.app().name(),
                    "request.id", (r, v) -> r.requestId(),
                    "context.policy_version", (r, v) -> v.id());

    private final String name;
    private final String template;

    private HeaderTemplate(String name, String template) {
        this.name = name;
        this.template = template;
    }

    /** The header and its template as written: what a rule's fingerprint covers. */
    String describe() {
        return name + ": " + template;
    }

    /** The placeholders a template may use. */
    static Set<String> placeholders() {
        return new TreeSet<>(VALUES.keySet());
    }

    /** The unknown placeholders of a template, empty when it is valid. */
    static List<String> unknownPlaceholders(String template) {
        List<String> unknown = new ArrayList<>();
        Matcher m = PLACEHOLDER.matcher(template);
        while (m.find()) {
            if (!VALUES.containsKey(m.group(1))) {
                unknown.add(m.group(1));
            }
        }
        return unknown;
    }

    static HeaderTemplate of(String name, String template) {
        return new HeaderTemplate(name, template);
    }

    /** The header for one decision. */
    Obligation.SetHeader render(AccessRequest request, PolicyVersion version) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder value = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(value,
                    Matcher.quoteReplacement(VALUES.get(m.group(1)).apply(request, version)));
        }
        m.appendTail(value);
        return new Obligation.SetHeader(name, value.toString());
    }
}
