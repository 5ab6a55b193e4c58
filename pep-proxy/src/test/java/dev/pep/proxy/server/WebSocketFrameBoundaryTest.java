package dev.pep.proxy.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class WebSocketFrameBoundaryTest {

    @ParameterizedTest
    @ValueSource(ints = {0, 5, 125, 126, 1000, 65535, 65536, 200_000})
    void advance_unmaskedFrameOfAnyLength_endsExactlyAfterItsPayload(int payload) {
        ByteBuf frame = frame(payload, false);
        ByteBuf next = frame(3, false);
        ByteBuf both = Unpooled.wrappedBuffer(frame, next);
        WebSocketFrameBoundary b = new WebSocketFrameBoundary();

        int cut = b.advance(both, both.readerIndex(), both.readableBytes(), true);

        assertThat(cut).isEqualTo(frame.readableBytes());
        assertThat(b.atBoundary()).isTrue();
    }

    @Test
    void advance_maskedFrameSplitAcrossBuffersByteByByte_boundaryOnlyAtItsEnd() {
        ByteBuf frame = frame(300, true);
        WebSocketFrameBoundary b = new WebSocketFrameBoundary();
        int total = frame.readableBytes();

        for (int i = 0; i < total - 1; i++) {
            assertThat(b.advance(frame, i, 1, true)).as("byte %d", i).isEqualTo(-1);
            assertThat(b.atBoundary()).isFalse();
        }
        assertThat(b.advance(frame, total - 1, 1, true)).isEqualTo(1);
        assertThat(b.atBoundary()).isTrue();
    }

    @Test
    void advance_withoutStopping_followsManyFramesAndKnowsWhereItIs() {
        ByteBuf three = Unpooled.wrappedBuffer(frame(10, false), frame(200, false), frame(2, false));
        ByteBuf partial = frame(50, false);
        WebSocketFrameBoundary b = new WebSocketFrameBoundary();

        assertThat(b.advance(three, three.readerIndex(), three.readableBytes(), false)).isEqualTo(-1);
        assertThat(b.atBoundary()).isTrue();
        b.advance(partial, 0, 20, false);
        assertThat(b.atBoundary()).isFalse();
        assertThat(b.advance(partial, 20, partial.readableBytes() - 20, true)).isEqualTo(partial.readableBytes() - 20);
    }

    @Test
    void closeFrame_carriesTheCodeAndTheReason_cutToWhatAControlFrameHolds() {
        ByteBuf f = WebSocketFrameBoundary.closeFrame(ByteBufAllocator.DEFAULT, 1008, "no_matching_rule");
        ByteBuf longer = WebSocketFrameBoundary.closeFrame(ByteBufAllocator.DEFAULT, 1008, "x".repeat(300));

        assertThat((int) f.getUnsignedByte(0)).isEqualTo(0x88);
        assertThat((int) f.getUnsignedByte(1)).isEqualTo(2 + 16);
        assertThat(f.getUnsignedShort(2)).isEqualTo(1008);
        assertThat(f.toString(4, 16, StandardCharsets.UTF_8)).isEqualTo("no_matching_rule");
        assertThat((int) longer.getUnsignedByte(1)).isEqualTo(125);
        f.release();
        longer.release();
    }

    private static ByteBuf frame(int payload, boolean masked) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(0x82);
        int mask = masked ? 0x80 : 0;
        if (payload < 126) {
            b.writeByte(mask | payload);
        } else if (payload <= 0xffff) {
            b.writeByte(mask | 126).writeShort(payload);
        } else {
            b.writeByte(mask | 127).writeLong(payload);
        }
        if (masked) {
            b.writeInt(0x11223344);
        }
        b.writeZero(payload);
        return b;
    }
}
