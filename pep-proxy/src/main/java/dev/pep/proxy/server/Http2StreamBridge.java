package dev.pep.proxy.server;

import dev.pep.proxy.http.RequestHead;
import dev.pep.proxy.http.RequestRejectedException;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.ReferenceCountUtil;

/**
 * Turns one HTTP/2 stream's frames into the messages {@link ProxyHandler} reads (a
 * {@link StreamRequest}, then body pieces) and its responses back into frames. The request head
 * is built from the frame's own fields, never through a lossy HTTP/1 conversion.
 */
final class Http2StreamBridge extends ChannelDuplexHandler {

    private boolean headSeen;

    /**
     * The head of a request on a stream.
     *
     * @param head the request head with its pseudo-headers
     * @param endOfStream whether the HEADERS frame ended the stream (no body follows)
     */
    record StreamRequest(RequestHead head, boolean endOfStream) {
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame frame) {
            onHeaders(ctx, frame);
        } else if (msg instanceof Http2DataFrame data) {
            ctx.fireChannelRead(data.isEndStream()
                    ? new DefaultLastHttpContent(data.content())
                    : new DefaultHttpContent(data.content()));
        } else if (msg instanceof Http2ResetFrame) {
            ctx.close();
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onHeaders(ChannelHandlerContext ctx, Http2HeadersFrame frame) {
        if (headSeen) {
            // Trailers end the request body.
            LastHttpContent last = new DefaultLastHttpContent();
            frame.headers().forEach(e -> last.trailingHeaders().add(e.getKey(), e.getValue()));
            ctx.fireChannelRead(last);
            return;
        }
        headSeen = true;
        try {
            RequestHead head = RequestHead.fromHttp2(frame.headers());
            ctx.fireChannelRead(new StreamRequest(head, frame.isEndStream()));
            if (frame.isEndStream()) {
                ctx.fireChannelRead(LastHttpContent.EMPTY_LAST_CONTENT);
            }
        } catch (RequestRejectedException e) {
            ctx.fireChannelRead(e.rejection());
        }
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpResponse response) {
            writeHead(ctx, response, promise);
        } else if (msg instanceof LastHttpContent last) {
            writeLast(ctx, last, promise);
        } else if (msg instanceof HttpContent content) {
            ctx.write(new DefaultHttp2DataFrame(content.content(), false), promise);
        } else {
            ctx.write(msg, promise);
        }
    }

    private void writeHead(ChannelHandlerContext ctx, HttpResponse response, ChannelPromise promise)
            throws Exception {
        Http2Headers headers = HttpConversionUtil.toHttp2Headers(response, true);
        if (!(response instanceof FullHttpResponse full)) {
            ctx.write(new DefaultHttp2HeadersFrame(headers, false), promise);
            return;
        }
        boolean empty = !full.content().isReadable();
        ctx.write(new DefaultHttp2HeadersFrame(headers, empty), empty ? promise : ctx.voidPromise());
        if (empty) {
            full.release();
        } else {
            ctx.write(new DefaultHttp2DataFrame(full.content(), true), promise);
        }
    }

    private void writeLast(ChannelHandlerContext ctx, LastHttpContent last, ChannelPromise promise)
            throws Exception {
        if (last.trailingHeaders().isEmpty()) {
            ctx.write(new DefaultHttp2DataFrame(last.content(), true), promise);
            return;
        }
        if (last.content().isReadable()) {
            ctx.write(new DefaultHttp2DataFrame(last.content(), false), ctx.voidPromise());
        } else {
            last.release();
        }
        Http2Headers trailers = HttpConversionUtil.toHttp2Headers(last.trailingHeaders(), true);
        ctx.write(new DefaultHttp2HeadersFrame(trailers, true), promise);
    }
}
