package dev.pep.proxy.http;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Mutated requests, split at random places: the front must never throw, never leak, and always
 * produce a well-formed message sequence or exactly one final rejection.
 */
class StrictRequestFrontFuzzTest {

    private static final String[] SEEDS = {
        "GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
        "POST /u HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello",
        "POST /u HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
        "GET http://example.com:8080/%2e/x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    };

    private static final char[] ALPHABET = {
        '\r', '\n', ' ', '\t', ':', '\0', '%', '/', '.', ';', '\\', 'a', '0', ',', '\u00ff', '#',
        '?', '@', '[', ']', 'F', '2', '_', '-',
    };

    @Test
    void front_mutatedRequests_neverThrowNeverLeakAlwaysWellFormed() {
        Random random = new Random(20261203L);
        UnpooledByteBufAllocator alloc = new UnpooledByteBufAllocator(false);
        int requests = 0;
        int rejections = 0;

        for (int round = 0; round < 1500; round++) {
            String input = mutate(SEEDS[random.nextInt(SEEDS.length)], random);
            List<Object> messages = run(alloc, input, random);
            requests += (int) messages.stream().filter(m -> m instanceof HttpRequest).count();
            rejections += (int) messages.stream().filter(m -> m instanceof HttpRejection).count();
            try {
                assertWellFormed(input, messages);
            } finally {
                messages.forEach(ReferenceCountUtil::release);
            }
        }

        assertThat(alloc.metric().usedHeapMemory()).isZero();
        assertThat(requests).as("mutations that still decode").isGreaterThan(100);
        assertThat(rejections).as("mutations that are rejected").isGreaterThan(100);
    }

    private static List<Object> run(UnpooledByteBufAllocator alloc, String input, Random random) {
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new StrictHttpRequestDecoder(new Http1Limits(64, 256, 8, 3)));
        int at = 0;
        while (at < input.length()) {
            int next = Math.min(input.length(), at + 1 + random.nextInt(8));
            ByteBuf buf = alloc.heapBuffer();
            buf.writeCharSequence(input.substring(at, next), ISO_8859_1);
            channel.writeInbound(buf);
            at = next;
        }
        List<Object> messages = new ArrayList<>();
        Object message;
        while ((message = channel.readInbound()) != null) {
            messages.add(message);
        }
        channel.finishAndReleaseAll();
        return messages;
    }

    /** Request, contents, last; repeated; optionally ended by one rejection. */
    private static void assertWellFormed(String input, List<Object> messages) {
        boolean inBody = false;
        for (int i = 0; i < messages.size(); i++) {
            Object m = messages.get(i);
            if (m instanceof HttpRejection) {
                assertThat(i).as("rejection is last for %s", input).isEqualTo(messages.size() - 1);
            } else if (m instanceof HttpRequest request) {
                assertThat(inBody).as("request inside a body for %s", input).isFalse();
                assertThat(RequestCanonicalizer.canonicalize(request)).isNotNull();
                inBody = true;
            } else if (m instanceof HttpContent) {
                assertThat(inBody).as("content outside a body for %s", input).isTrue();
                inBody = !(m instanceof LastHttpContent);
            } else {
                throw new AssertionError("unexpected message " + m + " for " + input);
            }
        }
    }

    private static String mutate(String seed, Random random) {
        StringBuilder b = new StringBuilder(seed);
        int edits = 1 + random.nextInt(3);
        for (int e = 0; e < edits; e++) {
            int at = random.nextInt(b.length());
            char c = ALPHABET[random.nextInt(ALPHABET.length)];
            switch (random.nextInt(3)) {
                case 0 -> b.setCharAt(at, c);
                case 1 -> b.insert(at, c);
                default -> b.deleteCharAt(at);
            }
        }
        return b.toString();
    }
}
