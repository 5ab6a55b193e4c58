package dev.pep.policy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Facts a condition requires, read from its top-level {@code &&} terms, so rules that cannot
 * match are skipped without running CEL: {@code "g" in subject.groups},
 * {@code "r" in subject.roles}, {@code request.method in ["GET", ...]} and
 * {@code request.method == "GET"}.
 *
 * <p>Exact, not a heuristic: when one term of a conjunction is false the conjunction is false
 * in CEL whatever the other terms do, errors included, so skipping yields the same decision.
 *
 * @param groups groups the subject must all have
 * @param roles roles the subject must all have
 * @param methods the methods one of which the request must have; null for any
 */
record Guard(Set<String> groups, Set<String> roles, Set<String> methods) {

    static final Guard NONE = new Guard(Set.of(), Set.of(), null);

    private static final Pattern IN_GROUPS =
            Pattern.compile("\"([^\"\\\\]*)\" in subject\\.groups");
    private static final Pattern IN_ROLES = Pattern.compile("\"([^\"\\\\]*)\" in subject\\.roles");
    private static final Pattern METHOD_IN =
            Pattern.compile("request\\.method in \\[((?:\"[A-Z]+\"(?:, )?)+)]");
    private static final Pattern METHOD_IS = Pattern.compile("request\\.method == \"([A-Z]+)\"");
    private static final Pattern QUOTED = Pattern.compile("\"([A-Z]+)\"");

    /** The guard of a condition with these top-level terms joined by {@code operator}. */
    static Guard of(String operator, List<String> terms) {
        if (operator.equals("||")) {
            return NONE;
        }
        Set<String> groups = new HashSet<>();
        Set<String> roles = new HashSet<>();
        Set<String> methods = null;
        for (String term : terms) {
            Matcher m;
            if ((m = IN_GROUPS.matcher(term)).matches()) {
                groups.add(m.group(1));
            } else if ((m = IN_ROLES.matcher(term)).matches()) {
                roles.add(m.group(1));
            } else if ((m = METHOD_IS.matcher(term)).matches()) {
                methods = intersect(methods, Set.of(m.group(1)));
            } else if ((m = METHOD_IN.matcher(term)).matches()) {
                Set<String> listed = new HashSet<>();
                Matcher q = QUOTED.matcher(m.group(1));
                while (q.find()) {
                    listed.add(q.group(1));
                }
                methods = intersect(methods, listed);
            }
        }
        return new Guard(Set.copyOf(groups), Set.copyOf(roles),
                methods == null ? null : Set.copyOf(methods));
    }

    /** Whether a request with these facts might satisfy the condition. */
    boolean admits(Set<String> subjectGroups, Set<String> subjectRoles, String method) {
        return subjectGroups.containsAll(groups) && subjectRoles.containsAll(roles)
                && (methods == null || methods.contains(method));
    }

    private static Set<String> intersect(Set<String> current, Set<String> more) {
        if (current == null) {
            return more;
        }
        Set<String> out = new HashSet<>(current);
        out.retainAll(more);
        return out;
    }
}
