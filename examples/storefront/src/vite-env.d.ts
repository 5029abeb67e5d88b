/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The GraphQL endpoint (absolute, or a path on the app's origin); default /graphql. */
  readonly VITE_GRAPHQL_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
