package dev.pep.identity.local;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * {@code pep user add --file F --name N [--group G]... [--org O] [--email E]
 * [--password-env VAR] [--replace]}: adds a user to the local user file.
 *
 * <p>The password is read from standard input (first line) or from the named environment
 * variable, never from the command line, where other users of the machine could see it.
 */
public final class UserCommand {

    private static final String USAGE = "usage: pep user add --file FILE --name NAME "
            + "[--group GROUP]... [--org ORG] [--email EMAIL] [--password-env VAR] [--replace]\n"
            + "  the password is read from standard input unless --password-env names a variable";

    private UserCommand() {
    }

    /**
     * Runs the command with the process's standard input and environment.
     *
     * @return the exit code: 0 done, 1 failed, 2 usage error
     */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, System.in, System.getenv(), out, err,
                PasswordHasher.Params.recommended());
    }

    static int run(String[] args, InputStream in, Map<String, String> env, PrintStream out,
            PrintStream err, PasswordHasher.Params params) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            err.println(USAGE);
            return 2;
        }
        try {
            char[] password = password(options, in, env);
            try {
                return add(options, password, params, out, err);
            } finally {
                Arrays.fill(password, '\0');
            }
        } catch (IOException | IllegalArgumentException e) {
            err.println("user add failed: " + e.getMessage());
            return 1;
        }
    }

    private static int add(Options options, char[] password, PasswordHasher.Params params,
            PrintStream out, PrintStream err) throws IOException {
        if (password.length < 8) {
            err.println("user add failed: password shorter than 8 characters");
            return 1;
        }
        List<LocalUser> users = new ArrayList<>(LocalUserDirectory.read(options.file));
        boolean exists = users.removeIf(u -> u.name().equals(options.name));
        if (exists && !options.replace) {
            err.println("user add failed: user " + options.name + " exists (use --replace)");
            return 1;
        }
        String hash = new PasswordHasher(params, new SecureRandom()).hash(password);
        users.add(new LocalUser(options.name, hash, options.groups, options.org, options.email));
        LocalUserDirectory.write(options.file, users);
        out.println((exists ? "replaced" : "added") + " user " + options.name + " in "
                + options.file);
        return 0;
    }

    private static char[] password(Options options, InputStream in, Map<String, String> env)
            throws IOException {
        if (options.passwordEnv != null) {
            String value = env.get(options.passwordEnv);
            if (value == null) {
                throw new IllegalArgumentException("environment variable " + options.passwordEnv
                        + " is not set");
            }
            return value.toCharArray();
        }
        BufferedReader reader = new BufferedReader(new InputStreamReader(in,
                StandardCharsets.UTF_8));
        String line = reader.readLine();
        if (line == null) {
            throw new IllegalArgumentException("no password on standard input");
        }
        return line.toCharArray();
    }

    private static final class Options {
        Path file;
        String name;
        final List<String> groups = new ArrayList<>();
        String org = "";
        String email = "";
        String passwordEnv;
        boolean replace;

        static Options parse(String[] args) {
            if (args.length == 0 || !"add".equals(args[0])) {
                throw new IllegalArgumentException("expected the subcommand 'add'");
            }
            Options o = new Options();
            for (int i = 1; i < args.length; i++) {
                String flag = args[i];
                if ("--replace".equals(flag)) {
                    o.replace = true;
                    continue;
                }
                if (flag.equals("--password")) {
                    throw new IllegalArgumentException("--password is not accepted: pass the "
                            + "password on standard input or with --password-env");
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(flag + " needs a value");
                }
                o.set(flag, args[++i]);
            }
            if (o.file == null || o.name == null) {
                throw new IllegalArgumentException("--file and --name are required");
            }
            return o;
        }

        private void set(String flag, String value) {
            switch (flag) {
                case "--file" -> file = Path.of(value);
                case "--name" -> name = value;
                case "--group" -> groups.add(value);
                case "--org" -> org = value;
                case "--email" -> email = value;
                case "--password-env" -> passwordEnv = value;
                default -> throw new IllegalArgumentException("unknown option " + flag);
            }
        }
    }
}
