package dev.pep.proxy.connector;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bounds the connector listener's connections that have not proved a connector certificate yet:
 * those in their TLS handshake and those enrolling. Anyone who can reach the listener can open
 * one, so they are capped in total and per address (a connection over a cap is closed before its
 * handshake costs anything), and each must become a tunnel or be done within a deadline. A
 * tunnel no longer counts. Refusals are counted in {@code pep_connectors_connections_refused_total}
 * by reason. Shared by all connections; thread-safe.
 */
final class UnauthenticatedConnections {

    private static final Logger LOG = LoggerFactory.getLogger(UnauthenticatedConnections.class);

    /**
     * The bounds.
     *
     * @param deadline how long a connection may take to present its certificate or to enrol
     * @param maxTotal unauthenticated connections at once
     * @param maxPerAddress unauthenticated connections at once from one address
     */
    record Limits(Duration deadline, int maxTotal, int maxPerAddress) {
        /** The defaults: 10 s, 64 in total, 8 per address. */
        static final Limits DEFAULT = new Limits(Duration.ofSeconds(10), 64, 8);
    }

    private final Limits limits;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();
    private final Counter refusedTotal;
    private final Counter refusedPerAddress;
    private final Counter timedOut;
    private final Counter tooLarge;

    UnauthenticatedConnections(Limits limits, MeterRegistry meters) {
        this.limits = limits;
        this.refusedTotal = refused(meters, "total_limit");
        this.refusedPerAddress = refused(meters, "address_limit");
        this.timedOut = refused(meters, "deadline");
        this.tooLarge = refused(meters, "request_too_large");
        meters.gauge("pep.connectors.connections.unauthenticated", total);
    }

    /** The handler for one new connection; first in its pipeline. */
    ChannelHandler handler() {
        return new Pending();
    }

    /** The connection proved a connector certificate: it is a tunnel, neither counted nor timed. */
    static void authenticated(ChannelPipeline pipeline) {
        Pending p = pipeline.get(Pending.class);
        if (p != null) {
            pipeline.remove(p);
        }
    }

    /** An enrolment request over the size limit was refused. */
    void requestTooLarge() {
        tooLarge.increment();
    }

    /** Unauthenticated connections now. */
    int count() {
        return total.get();
    }

    private static Counter refused(MeterRegistry meters, String reason) {
        return Counter.builder("pep.connectors.connections.refused").tag("reason", reason).register(meters);
    }

    /** One connection's place: taken when it opens, given back once when it closes or is proved. */
    private final class Pending extends ChannelInboundHandlerAdapter {

        private InetAddress address;
        private ScheduledFuture<?> deadline;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            address = ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
            int mine = perAddress.merge(address, 1, Integer::sum);
            int all = total.incrementAndGet();
            if (all > limits.maxTotal() || mine > limits.maxPerAddress()) {
                (all > limits.maxTotal() ? refusedTotal : refusedPerAddress).increment();
                LOG.debug("connector connection refused remote={} unauthenticated={} fromAddress={}",
                        address, all, mine);
                ctx.close();
                return;
            }
            deadline = ctx.executor().schedule(() -> {
                timedOut.increment();
                LOG.debug("connector connection past its deadline remote={}", address);
                ctx.close();
            }, limits.deadline().toMillis(), TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            release();
            ctx.fireChannelInactive();
        }

        @Override
        public void handlerRemoved(ChannelHandlerContext ctx) {
            release();
        }

        private void release() {
            if (deadline != null) {
                deadline.cancel(false);
            }
            if (address == null) {
                return;
            }
            InetAddress a = address;
            address = null;
            total.decrementAndGet();
            perAddress.computeIfPresent(a, (k, n) -> n == 1 ? null : n - 1);
        }
    }
}
