// Lint = the type checker (run by `npm run lint` before eslint) plus Pulumi's rule that catches an
// Output interpolated into a plain template literal, which would render "Calling [toString] on an Output".
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
    { ignores: ["dist/**", "node_modules/**", "examples/*/node_modules/**", ".sandbox/**"] },
    {
        files: ["**/*.ts"],
        languageOptions: {
            parser: tseslint.parser,
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // Node 20's fetch never settles when a server accepts and then closes the connection (docker-proxy does
            // for a container that is not listening yet); the process then exits with the promise pending.
            "no-restricted-globals": [
                "error",
                { name: "fetch", message: "use fetchVia (sandbox/lib/http.ts): node:http with a timeout" },
            ],
        },
    },
    // No line over 120 characters (prettier wraps code at 120; this catches what it cannot). A line that is long
    // because of one string, template or regex (a message, a test's name, a line of a rendered script) may stay so.
    {
        files: ["**/*.ts"],
        rules: {
            "max-len": [
                "error",
                {
                    code: 120,
                    ignoreStrings: true,
                    ignoreTemplateLiterals: true,
                    ignoreRegExpLiterals: true,
                    ignoreUrls: true,
                },
            ],
        },
    },
);
