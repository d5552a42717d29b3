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
    },
  },
  // No line over 120 characters in the sandbox, the bench and the test kit (lib/ and the unit tests are next).
  // A line that is long because of one string, template or regex (a message, a test's name) may stay so.
  {
    files: ["sandbox/**/*.ts", "bench/**/*.ts", "test/support/**/*.ts", "test/sandbox/**/*.ts", "test/e2e/**/*.ts"],
    rules: {
      "max-len": ["error", {
        code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true,
      }],
    },
  },
);
