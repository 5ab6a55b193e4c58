package dev.pep.proxy.server;

import dev.pep.core.StreamPreamble;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.AttributeKey;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lets PostgreSQL clients start TLS the way they do with a PostgreSQL server: libpq ({@code psql}
 * with {@code sslmode}) first sends an SSLRequest in clear, eight bytes (length 8, code 80877103),
 * and starts its TLS handshake only after the one-byte answer {@code S} (PostgreSQL protocol,
 * section 55.2.10 "SSL Session Encryption").
 *
 * <p>A state machine over the first bytes of a partner connection, before the SNI handler:
 * <ul>
 *   <li>a first byte other than 0 (a TLS record is 22, an HTTP request a letter) is none of its
 *       business: it steps aside and the connection proceeds as it always did;
 *   <li>exactly an SSLRequest, while some routed app declares {@code preamble: postgres}: answer
 *       {@code S}, mark the connection, and the next byte must start a TLS handshake record, or
 *       the connection is closed;
 *   <li>a GSSENCRequest (code 80877104): answer {@code N} (no GSSAPI encryption here), once; libpq
 *       then sends its SSLRequest on the same connection, and anything else is closed;
 *   <li>any other eight bytes: it steps aside (the TLS handler refuses them, as before).
 * </ul>
 * The connection marked here must then name, by SNI, a TCP app that declares the preamble;
 * {@link PartnerChannelInitializer} checks that after the handshake. How long the first bytes may
 * take is bounded by the SNI handler's handshake timeout, which runs from the connection's start.
 * One instance per connection; runs on its event loop.
 */
final class PostgresPreambleHandler extends ByteToMessageDecoder {

    /** Set on a connection whose client asked for TLS with an SSLRequest and was answered S. */
    static final AttributeKey<StreamPreamble> USED = AttributeKey.valueOf("pep.preamble");
    static final String NAME = "preamble";
    static final int SSL_REQUEST = 80877103;
    static final int GSSENC_REQUEST = 80877104;
    private static final Logger LOG = LoggerFactory.getLogger(PostgresPreambleHandler.class);
    private static final int REQUEST_LENGTH = 8;
    private static final int TLS_HANDSHAKE_RECORD = 22;

    private final BooleanSupplier enabled;
    private State state = State.FIRST;

    /**
     * A handler.
     *
     * @param enabled whether any routed app declares {@code preamble: postgres} now
     */
    PostgresPreambleHandler(BooleanSupplier enabled) {
        this.enabled = enabled;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (!in.isReadable()) {
            return;
        }
        int first = in.getUnsignedByte(in.readerIndex());
        switch (state) {
            case FIRST, AFTER_GSS -> request(ctx, in, first);
            case AFTER_SSL -> {
                if (first != TLS_HANDSHAKE_RECORD) {
                    refuse(ctx, in, "no TLS handshake after S");
                    return;
                }
                ctx.pipeline().remove(this);
            }
            default -> throw new IllegalStateException("state " + state);
        }
    }

    private void request(ChannelHandlerContext ctx, ByteBuf in, int first) {
        if (state == State.FIRST && first != 0) {
            ctx.pipeline().remove(this);
            return;
        }
        if (in.readableBytes() < REQUEST_LENGTH) {
            return;
        }
        int length = in.getInt(in.readerIndex());
        int code = in.getInt(in.readerIndex() + 4);
        boolean postgres = length == REQUEST_LENGTH && (code == SSL_REQUEST || code == GSSENC_REQUEST)
                && enabled.getAsBoolean();
        if (!postgres && state == State.FIRST) {
            ctx.pipeline().remove(this);
        } else if (!postgres || code == GSSENC_REQUEST && state == State.AFTER_GSS) {
            refuse(ctx, in, "expected an SSLRequest after N");
        } else {
            in.skipBytes(REQUEST_LENGTH);
            boolean ssl = code == SSL_REQUEST;
            state = ssl ? State.AFTER_SSL : State.AFTER_GSS;
            if (ssl) {
                ctx.channel().attr(USED).set(StreamPreamble.POSTGRES);
            }
            LOG.debug("postgres preamble channel={} request={}", ctx.channel().id(), ssl ? "ssl" : "gssenc");
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {(byte) (ssl ? 'S' : 'N')}));
        }
    }

    private static void refuse(ChannelHandlerContext ctx, ByteBuf in, String why) {
        LOG.debug("postgres preamble refused channel={} reason={}", ctx.channel().id(), why);
        in.skipBytes(in.readableBytes());
        ctx.close();
    }

    private enum State {
        /** Nothing read yet. */
        FIRST,
        /** A GSSENCRequest was answered N; an SSLRequest must follow. */
        AFTER_GSS,
        /** An SSLRequest was answered S; a TLS ClientHello must follow. */
        AFTER_SSL
    }
}
