package dev.pep.proxy.connector;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enrols connectors: {@code POST /pep/v1/enrol} with {@code {name, token, csr}} spends the token
 * and answers the issued certificate, the apps and the expiry. Refusals answer 403 (token) or
 * 400 (request) with a reason code, and are audited; the token is in no log line or event.
 * Work that touches files or signs runs off the event loop.
 */
final class Enroller {

    private static final Logger LOG = LoggerFactory.getLogger(Enroller.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ConnectorCa ca;
    private final ConnectorRegistry registry;
    private final Clock clock;

    Enroller(ConnectorCa ca, ConnectorRegistry registry, Clock clock) {
        this.ca = ca;
        this.registry = registry;
        this.clock = clock;
    }

    ChannelHandler handler() {
        return new SimpleChannelInboundHandler<FullHttpRequest>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
                InetSocketAddress remote = (InetSocketAddress) ctx.channel().remoteAddress();
                if (!request.method().equals(HttpMethod.POST) || !request.uri().equals(TunnelProtocol.ENROL_PATH)) {
                    respond(ctx, 404, error("not_found", "only POST " + TunnelProtocol.ENROL_PATH + " is served"));
                    return;
                }
                String body = request.content().toString(StandardCharsets.UTF_8);
                CompletableFuture.supplyAsync(() -> enrol(body, remote))
                        .thenAccept(r -> respond(ctx, r.status, r.body));
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        };
    }

    private Answer enrol(String body, InetSocketAddress remote) {
        String name = "";
        try {
            JsonNode req = JSON.readTree(body);
            name = req.path("name").asText("");
            String token = req.path("token").asText("");
            String csr = req.path("csr").asText("");
            if (!EnrolmentStore.NAME.matcher(name).matches()) {
                throw new EnrolmentRefusedException("request_invalid", "expected a connector name");
            }
            ConnectorCa.verifyRequest(csr);
            EnrolmentToken grant = registry.store().redeem(token);
            if (!grant.name().equals(name)) {
                throw new EnrolmentRefusedException("token_name_mismatch", "this token enrols connector '"
                        + grant.name() + "', not '" + name + "'");
            }
            Instant expires = grant.enrolmentExpires();
            X509Certificate cert = ca.issueConnector(csr, name,
                    expires == null ? ca.certificate().getNotAfter().toInstant() : expires);
            Enrolment e = new Enrolment(name, ConnectorCa.serial(cert), grant.apps(), expires, clock.instant(),
                    grant.createdBy(), null, null);
            registry.store().save(e);
            registry.enrolled(e, remote);
            ObjectNode ok = JSON.createObjectNode();
            ok.put("name", name);
            ok.put("serial", e.serial());
            grant.apps().forEach(ok.putArray("apps")::add);
            ok.put("expires", expires == null ? null : expires.toString());
            ok.put("certificate", ConnectorCa.Pem.encode(cert) + ConnectorCa.Pem.encode(ca.certificate()));
            return new Answer(200, ok);
        } catch (EnrolmentRefusedException e) {
            LOG.debug("connector enrolment refused connector={} remote={} reason={}", name, remote, e.reason());
            registry.refused(name, null, remote, e.reason());
            boolean token = e.reason().startsWith("token_");
            return new Answer(token ? 403 : 400, error(e.reason(), e.getMessage()));
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            LOG.warn("connector enrolment failed inside the gateway connector={} error={}", name, e.toString());
            return new Answer(500, error("enrolment_failed", "the gateway could not enrol the connector; see its log"));
        }
    }

    private static ObjectNode error(String reason, String message) {
        ObjectNode n = JSON.createObjectNode();
        n.put("error", reason);
        n.put("message", message);
        return n;
    }

    private static void respond(ChannelHandlerContext ctx, int status, ObjectNode body) {
        byte[] bytes = (body.toString() + "\n").getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length)
                .set(HttpHeaderNames.CONNECTION, "close");
        ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
    }

    private record Answer(int status, ObjectNode body) {
    }
}
