package dev.pep.policy;

import dev.pep.core.AccessRequest;
import dev.pep.core.Obligation;
import dev.pep.core.PolicyVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The obligations an allow rule declares, rendered into {@link Obligation}s per decision.
 * {@code assertion} is null when the rule asks for none.
 */
record Obligations(boolean readOnly, Duration maxSession, Duration idle, Duration reevaluate,
        List<HeaderTemplate> headers, Obligation.IdentityAssertion assertion) {

    static final Obligations NONE = new Obligations(false, null, null, null, List.of(), null);

    Obligations {
        headers = List.copyOf(headers);
    }

    /** The obligations for one decision, in a fixed order. */
    List<Obligation> render(AccessRequest request, PolicyVersion version) {
        List<Obligation> out = new ArrayList<>(5 + headers.size());
        if (readOnly) {
            out.add(new Obligation.ReadOnly());
        }
        if (maxSession != null) {
            out.add(new Obligation.MaxSessionLength(maxSession));
        }
        if (idle != null) {
            out.add(new Obligation.IdleLimit(idle));
        }
        if (reevaluate != null) {
            out.add(new Obligation.Reevaluate(reevaluate));
        }
        for (HeaderTemplate header : headers) {
            out.add(header.render(request, version));
        }
        if (assertion != null) {
            out.add(assertion);
        }
        return out;
    }
}
