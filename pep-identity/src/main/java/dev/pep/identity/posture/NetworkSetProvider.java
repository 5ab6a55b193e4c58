package dev.pep.identity.posture;

import dev.pep.core.Credentials;
import dev.pep.core.PostureProvider;
import dev.pep.core.PostureSignal;
import dev.pep.core.Subject;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The source network: a signal {@code network.NAME = true} for every configured network set
 * that contains the connection's peer address. Completes at once (a binary search); thread-safe.
 */
public final class NetworkSetProvider implements PostureProvider {

    private final String name;
    private final NetworkSets sets;

    /** A provider of that name over those sets. */
    public NetworkSetProvider(String name, NetworkSets sets) {
        this.name = Objects.requireNonNull(name, "name");
        this.sets = Objects.requireNonNull(sets, "sets");
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public CompletionStage<List<PostureSignal>> assess(Subject subject, Credentials credentials) {
        List<PostureSignal> signals = sets.names(credentials.source().address()).stream()
                .map(set -> PostureSignals.signal(PostureSignals.NETWORK_PREFIX + set, true, name,
                        credentials.time()))
                .toList();
        return CompletableFuture.completedFuture(signals);
    }
}
