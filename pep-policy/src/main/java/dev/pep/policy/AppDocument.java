package dev.pep.policy;

import dev.pep.core.App;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One app declared on its own, as an operator registers it at run time: a JSON (or YAML)
 * mapping with the app's {@code name} beside the keys an app has in a policy file
 * ({@code hosts}, {@code protocol}, {@code upstream} or {@code connector}, {@code lifecycle},
 * {@code expires}, {@code labels}, {@code description}). Checked by the same parser as the policy
 * files, so it gets the same rules and the same messages.
 *
 * <pre>{"name": "exercise", "hosts": ["exercise.partners.example"], "upstream": "pep:echo",
 *  "lifecycle": "episodic", "expires": "2027-01-31T00:00:00Z", "labels": {"tier": "exercise"}}</pre>
 *
 * @param app the app; empty when the document has errors
 * @param errors every problem, with its line and column in the document; empty when valid
 */
public record AppDocument(Optional<App> app, List<PolicyError> errors) {

    /** Validates and copies. */
    public AppDocument {
        Objects.requireNonNull(app, "app");
        errors = List.copyOf(errors);
        if (app.isPresent() != errors.isEmpty()) {
            throw new IllegalArgumentException("an app document has an app or errors, not both");
        }
    }

    /**
     * Reads one app declaration; never throws for bad input.
     *
     * @param source what to call the document in errors, for example {@code request body}
     * @param content the document
     */
    public static AppDocument parse(String source, String content) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(content, "content");
        List<PolicyError> errors = new ArrayList<>();
        // JSON allows tabs between tokens where YAML does not; JSON strings cannot hold a raw
        // tab, so each becomes a space and every column stays where it was.
        String text = content.strip().startsWith("{") ? content.replace('\t', ' ') : content;
        PolicyFileParser parser = PolicyFileParser.parseApp(source, text, errors);
        if (errors.isEmpty() && parser.apps().size() == 1) {
            return new AppDocument(Optional.of(parser.apps().get(0).app()), List.of());
        }
        if (errors.isEmpty()) {
            errors.add(new PolicyError(source, 0, 0, "expected one app"));
        }
        return new AppDocument(Optional.empty(), errors);
    }

    /** Whether the document declared a valid app. */
    public boolean valid() {
        return app.isPresent();
    }
}
