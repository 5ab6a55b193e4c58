package dev.pep.proxy.server;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Caps connections in total and per client address. A connection over either cap is closed
 * before its TLS handshake costs anything. Shared by all connections; thread-safe.
 */
@ChannelHandler.Sharable
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionLimiter.class);

    private final int maxTotal;
    private final int maxPerAddress;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();
    private final Counter refusedTotal;
    private final Counter refusedPerAddress;

    ConnectionLimiter(int maxTotal, int maxPerAddress, MeterRegistry registry) {
        this.maxTotal = maxTotal;
        this.maxPerAddress = maxPerAddress;
        this.refusedTotal = Counter.builder("pep.connections.refused").tag("reason", "total_limit")
                .register(registry);
        this.refusedPerAddress = Counter.builder("pep.connections.refused").tag("reason", "address_limit")
                .register(registry);
        registry.gauge("pep.connections.active", total);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        InetAddress address = address(ctx);
        int mine = perAddress.merge(address, 1, Integer::sum);
        int all = total.incrementAndGet();
        ctx.channel().closeFuture().addListener(f -> release(address));
        if (all > maxTotal || mine > maxPerAddress) {
            (all > maxTotal ? refusedTotal : refusedPerAddress).increment();
            LOG.debug("connection refused peer={} total={} fromAddress={}", address, all, mine);
            ctx.close();
            return;
        }
        ctx.pipeline().remove(this);
        super.channelActive(ctx);
    }

    /** Connections open now. */
    int active() {
        return total.get();
    }

    private void release(InetAddress address) {
        total.decrementAndGet();
        perAddress.computeIfPresent(address, (a, n) -> n == 1 ? null : n - 1);
    }

    private static InetAddress address(ChannelHandlerContext ctx) {
        return ((InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
    }
}
