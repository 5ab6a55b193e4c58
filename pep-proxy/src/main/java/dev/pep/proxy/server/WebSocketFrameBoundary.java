package dev.pep.proxy.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Follows where frames end in one direction of a WebSocket byte stream (RFC 6455 section 5.2),
 * without decoding or holding any payload, so the gateway can put a close frame of its own
 * between two frames instead of into the middle of one. Not thread-safe: one per direction, used
 * on its connection's event loop.
 */
final class WebSocketFrameBoundary {

    private static final int MAX_REASON_BYTES = 123;

    private final byte[] head = new byte[14];
    private int headLength;
    private long payloadLeft;

    /** Whether the bytes seen so far end exactly at the end of a frame. */
    boolean atBoundary() {
        return headLength == 0 && payloadLeft == 0;
    }

    /**
     * Follows {@code length} bytes of {@code buf} from {@code index}, without reading them off.
     *
     * @param stopAtEnd stop at the first frame end within those bytes
     * @return with {@code stopAtEnd}, how many of the bytes reach that frame end, or -1 when no
     *     frame ends within them; without it, -1
     */
    int advance(ByteBuf buf, int index, int length, boolean stopAtEnd) {
        int i = index;
        int end = index + length;
        while (i < end) {
            if (payloadLeft > 0) {
                int take = (int) Math.min(payloadLeft, end - i);
                payloadLeft -= take;
                i += take;
            } else {
                head[headLength++] = buf.getByte(i++);
                if (headLength < 2 || headLength < headerLength()) {
                    continue;
                }
                payloadLeft = payloadLength();
                headLength = 0;
            }
            if (stopAtEnd && atBoundary()) {
                return i - index;
            }
        }
        return -1;
    }

    /**
     * A close frame from the gateway to the client (unmasked, as a server's frames are).
     *
     * @param reason a short code; cut to the 123 bytes a control frame can hold
     */
    static ByteBuf closeFrame(ByteBufAllocator alloc, int code, String reason) {
        byte[] text = reason.getBytes(StandardCharsets.UTF_8);
        int n = Math.min(text.length, MAX_REASON_BYTES);
        ByteBuf frame = alloc.buffer(4 + n);
        frame.writeByte(0x88).writeByte(2 + n).writeShort(code).writeBytes(text, 0, n);
        return frame;
    }

    /** The header's full length, once its first two bytes are known. */
    private int headerLength() {
        int len7 = head[1] & 0x7f;
        int extended = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
        boolean masked = (head[1] & 0x80) != 0;
        return 2 + extended + (masked ? 4 : 0);
    }

    private long payloadLength() {
        int len7 = head[1] & 0x7f;
        if (len7 < 126) {
            return len7;
        }
        long n = 0;
        int bytes = len7 == 126 ? 2 : 8;
        for (int k = 0; k < bytes; k++) {
            n = n << 8 | head[2 + k] & 0xff;
        }
        // RFC 6455 5.2: the most significant bit of a 64-bit length is 0; treat it as huge.
        return n < 0 ? Long.MAX_VALUE : n;
    }
}
