package dev.pep.proxy.connector;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Enrolment tokens, enrolments and revocations in the connectors state directory, shared by a
 * running gateway and the {@code pep connector} commands. Tokens are kept only as their SHA-256
 * hash; a token is spent by an atomic rename, so two enrolments racing with one token get one
 * certificate between them, even across processes. Thread-safe.
 *
 * <pre>
 * tokens/HASH.json        a token not yet used
 * tokens/used/HASH.json   a spent token
 * enrolments/SERIAL.json  an enrolled connector instance (with its revocation, once revoked)
 * </pre>
 */
public final class EnrolmentStore {

    /** Connector and app names: what policy files allow for app names. */
    public static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9_-]{0,62}");
    private static final String TOKEN_PREFIX = "pepct_";
    private static final Pattern TOKEN = Pattern.compile(TOKEN_PREFIX + "[A-Za-z0-9_-]{43}");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path tokens;
    private final Path used;
    private final Path enrolments;
    private final Clock clock;
    private final SecureRandom random;

    /** A store in {@code directory}, made on first use. */
    public EnrolmentStore(Path directory, Clock clock, SecureRandom random) throws IOException {
        this.tokens = directory.resolve("tokens");
        this.used = tokens.resolve("used");
        this.enrolments = directory.resolve("enrolments");
        this.clock = clock;
        this.random = random;
        Files.createDirectories(used);
        Files.createDirectories(enrolments);
    }

    /**
     * Creates a one-time token and returns it; only its hash is stored.
     *
     * @param ttl how long the token may be used
     * @param enrolmentExpires when the enrolment made with it ends; null for never
     */
    public String createToken(String name, List<String> apps, Duration ttl, Instant enrolmentExpires,
            String createdBy) throws IOException {
        checkName("connector", name);
        if (apps.isEmpty()) {
            throw new IllegalArgumentException("a connector serves at least one app; expected --app NAME");
        }
        apps.forEach(a -> checkName("app", a));
        if (ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("the token lifetime must be positive, got " + ttl);
        }
        Instant now = clock.instant();
        if (enrolmentExpires != null && !enrolmentExpires.isAfter(now)) {
            throw new IllegalArgumentException("the enrolment expiry " + enrolmentExpires + " is in the past");
        }
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        String token = TOKEN_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        var grant = new EnrolmentToken(name, apps, now.plus(ttl), enrolmentExpires, createdBy, now);
        ConnectorCa.Pem.writeAtomically(tokens.resolve(hash(token) + ".json"), JSON.writeValueAsString(toJson(grant)));
        return token;
    }

    /**
     * Spends a token: checks it and marks it used, atomically.
     *
     * @throws EnrolmentRefusedException {@code token_unknown} (never issued, or not a token),
     *     {@code token_used} (spent before) or {@code token_expired}
     */
    public EnrolmentToken redeem(String token) throws EnrolmentRefusedException, IOException {
        if (token == null || !TOKEN.matcher(token).matches()) {
            throw new EnrolmentRefusedException("token_unknown", "not an enrolment token this gateway issued");
        }
        String file = hash(token) + ".json";
        Path fresh = tokens.resolve(file);
        Path spent = used.resolve(file);
        if (Files.exists(spent)) {
            throw new EnrolmentRefusedException("token_used", "this enrolment token was used already");
        }
        EnrolmentToken grant;
        try {
            grant = fromJson(JSON.readTree(Files.readString(fresh, StandardCharsets.UTF_8)));
        } catch (NoSuchFileException e) {
            throw Files.exists(spent)
                    ? new EnrolmentRefusedException("token_used", "this enrolment token was used already")
                    : new EnrolmentRefusedException("token_unknown", "not an enrolment token this gateway issued");
        }
        if (!clock.instant().isBefore(grant.tokenExpires())) {
            throw new EnrolmentRefusedException("token_expired", "this enrolment token expired at "
                    + grant.tokenExpires());
        }
        try {
            // The rename is the spend: of two racing enrolments, exactly one moves the file.
            Files.move(fresh, spent, StandardCopyOption.ATOMIC_MOVE);
        } catch (NoSuchFileException | FileAlreadyExistsException e) {
            throw new EnrolmentRefusedException("token_used", "this enrolment token was used already");
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("the connectors state directory cannot rename atomically", e);
        }
        return grant;
    }

    /** Records an enrolment (or its revocation). */
    public void save(Enrolment e) throws IOException {
        ConnectorCa.Pem.writeAtomically(enrolments.resolve(e.serial() + ".json"), JSON.writeValueAsString(toJson(e)));
    }

    /** The enrolment of a certificate serial, if any. */
    public Optional<Enrolment> enrolment(String serial) throws IOException {
        if (!serial.matches("[0-9a-f]{1,64}")) {
            return Optional.empty();
        }
        try {
            return Optional.of(enrolmentFromJson(JSON.readTree(
                    Files.readString(enrolments.resolve(serial + ".json"), StandardCharsets.UTF_8))));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** Every enrolment, revoked ones included. */
    public List<Enrolment> enrolments() throws IOException {
        List<Enrolment> all = new ArrayList<>();
        try (Stream<Path> files = Files.list(enrolments)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                try {
                    all.add(enrolmentFromJson(JSON.readTree(Files.readString(f, StandardCharsets.UTF_8))));
                } catch (NoSuchFileException e) {
                    // Replaced between the listing and the read: the next listing has it.
                }
            }
        }
        return all;
    }

    /**
     * Revokes every enrolment of a name not revoked yet.
     *
     * @return those it revoked; empty when the name has none
     */
    public List<Enrolment> revoke(String name, String by) throws IOException {
        Instant now = clock.instant();
        List<Enrolment> revoked = new ArrayList<>();
        for (Enrolment e : enrolments()) {
            if (e.name().equals(name) && e.revokedAt() == null) {
                Enrolment r = e.revoked(now, by);
                save(r);
                revoked.add(r);
            }
        }
        return revoked;
    }

    private static void checkName(String what, String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid " + what + " name '" + name
                    + "'; expected lower-case letters, digits, '-' or '_', at most 63");
        }
    }

    static String hash(String token) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static ObjectNode toJson(EnrolmentToken t) {
        ObjectNode n = JSON.createObjectNode();
        n.put("name", t.name());
        t.apps().forEach(n.putArray("apps")::add);
        n.put("token_expires", t.tokenExpires().toString());
        n.put("enrolment_expires", t.enrolmentExpires() == null ? null : t.enrolmentExpires().toString());
        n.put("created_by", t.createdBy());
        n.put("created_at", t.createdAt().toString());
        return n;
    }

    private static EnrolmentToken fromJson(JsonNode n) {
        return new EnrolmentToken(n.path("name").asText(), strings(n.path("apps")),
                Instant.parse(n.path("token_expires").asText()), instant(n.path("enrolment_expires")),
                n.path("created_by").asText(), Instant.parse(n.path("created_at").asText()));
    }

    private static ObjectNode toJson(Enrolment e) {
        ObjectNode n = JSON.createObjectNode();
        n.put("name", e.name());
        n.put("serial", e.serial());
        e.apps().forEach(n.putArray("apps")::add);
        n.put("expires", e.expires() == null ? null : e.expires().toString());
        n.put("enrolled_at", e.enrolledAt().toString());
        n.put("enrolled_by", e.enrolledBy());
        n.put("revoked_at", e.revokedAt() == null ? null : e.revokedAt().toString());
        n.put("revoked_by", e.revokedBy());
        return n;
    }

    private static Enrolment enrolmentFromJson(JsonNode n) {
        return new Enrolment(n.path("name").asText(), n.path("serial").asText(), strings(n.path("apps")),
                instant(n.path("expires")), Instant.parse(n.path("enrolled_at").asText()),
                n.path("enrolled_by").asText(), instant(n.path("revoked_at")),
                n.path("revoked_by").isTextual() ? n.path("revoked_by").asText() : null);
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(v -> out.add(v.asText()));
        return out;
    }

    private static Instant instant(JsonNode n) {
        return n.isTextual() ? Instant.parse(n.asText()) : null;
    }
}
