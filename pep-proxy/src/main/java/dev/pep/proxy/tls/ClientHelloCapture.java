package dev.pep.proxy.tls;

import dev.pep.identity.posture.ClientHelloFingerprint;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.AttributeKey;
import java.util.Arrays;

/**
 * Fingerprints a partner connection's TLS ClientHello (JA4-style, see
 * {@link ClientHelloFingerprint}) before the TLS handler consumes it, and keeps only the
 * fingerprint, on the channel under {@link #FINGERPRINT}. Bytes pass through untouched; the
 * handler removes itself once it has a fingerprint, sees something that is not a ClientHello, or
 * has read {@link #LIMIT} bytes. The raw hello is never logged or kept.
 *
 * <p>One instance per connection, used on its event loop only; goes before the SNI handler.
 */
public final class ClientHelloCapture extends ChannelInboundHandlerAdapter {

    /** The fingerprint of the connection's ClientHello; absent when none was read. */
    public static final AttributeKey<String> FINGERPRINT = AttributeKey.valueOf("pep.tls.fingerprint");
    /** The most bytes looked at; a larger hello is not fingerprinted. */
    static final int LIMIT = 20 * 1024;

    private byte[] seen = new byte[2048];
    private int length;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        boolean done = true;
        if (msg instanceof ByteBuf buf) {
            done = inspect(ctx, buf);
        }
        ctx.fireChannelRead(msg);
        if (done) {
            ctx.pipeline().remove(this);
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        seen = null;
    }

    /** Copies what arrived, without moving the reader index; true when no more is needed. */
    private boolean inspect(ChannelHandlerContext ctx, ByteBuf buf) {
        int n = Math.min(buf.readableBytes(), LIMIT - length);
        if (length + n > seen.length) {
            seen = Arrays.copyOf(seen, Math.min(LIMIT, Math.max(seen.length * 2, length + n)));
        }
        buf.getBytes(buf.readerIndex(), seen, length, n);
        length += n;
        ClientHelloFingerprint.Outcome outcome = ClientHelloFingerprint.read(seen, length);
        if (outcome instanceof ClientHelloFingerprint.Complete c) {
            ctx.channel().attr(FINGERPRINT).set(c.fingerprint());
            return true;
        }
        return outcome instanceof ClientHelloFingerprint.NotClientHello || length >= LIMIT;
    }
}
