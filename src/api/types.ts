// Request, response and chunk shapes of the engine API, modelled on OpenAI's Chat Completions
// and (legacy) Completions. Fields marked "extension" are not OpenAI's.

// ---- chat: request ----

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface TextContentPart {
  type: 'text';
  text: string;
}

export interface ImageContentPart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
}

export type ChatContentPart = TextContentPart | ImageContentPart;

export interface ChatToolCall {
  id: string;
  type: 'function';
  /** `arguments` is a JSON text, as OpenAI sends it. */
  function: { name: string; arguments: string };
}

export interface SystemMessage {
  role: 'system';
  content: string | TextContentPart[];
  name?: string;
}

export interface UserMessage {
  role: 'user';
  content: string | ChatContentPart[];
  name?: string;
}

export interface AssistantMessage {
  role: 'assistant';
  /** May be null or absent when the turn only calls tools. */
  content?: string | TextContentPart[] | null;
  /** Extension: an earlier turn's reasoning (templates may drop it). */
  reasoning_content?: string | null;
  tool_calls?: ChatToolCall[];
  name?: string;
}

export interface ToolMessage {
  role: 'tool';
  content: string | TextContentPart[];
  /** The id of the assistant's tool call this answers. */
  tool_call_id: string;
}

export type ChatMessageParam = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

export interface FunctionTool {
  type: 'function';
  function: {
    /** 1-64 characters of a-z, A-Z, 0-9, _ and -. */
    name: string;
    description?: string;
    /** A JSON schema for the arguments object. */
    parameters?: Record<string, unknown>;
    strict?: boolean;
  };
}

export type ToolChoice = 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; description?: string; schema?: Record<string, unknown>; strict?: boolean | null } };

/** Sampling and stopping options shared by chat and completions. */
export interface SamplingRequest {
  /** Must be omitted or name the loaded model. */
  model?: string;
  /** Most tokens to generate. Chat default: the rest of the context; completions: 16. */
  max_tokens?: number | null;
  /** OpenAI's newer name for max_tokens (give one, or both equal). */
  max_completion_tokens?: number | null;
  /** 0..2; 0 = greedy. Default 1, or the model's generation_config. */
  temperature?: number | null;
  /** (0, 1]. */
  top_p?: number | null;
  /** Extension: 0 (or -1) = off. */
  top_k?: number | null;
  /** Extension: [0, 1]; keep tokens with p >= min_p * p_max. */
  min_p?: number | null;
  /** Same seed, same request, same model -> same tokens. */
  seed?: number | null;
  /** Up to 4 non-empty strings; the text is cut just before the first one. */
  stop?: string | string[] | null;
  /** Extension: token ids that end generation (besides the tokenizer's end-of-text ids). */
  stop_token_ids?: number[] | null;
  /** [-2, 2]: minus count * f on tokens already generated. */
  frequency_penalty?: number | null;
  /** [-2, 2]: minus p on tokens already generated. */
  presence_penalty?: number | null;
  /** Extension: > 0, 1 = off (HF-style, over the generated tokens). */
  repetition_penalty?: number | null;
  /** Token id (as a string key) -> bias in [-100, 100] added to its logit. */
  logit_bias?: Record<string, number> | null;
  /** Only 1 is supported. */
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  /** Cancels the request: see Engine for what an abort returns. */
  signal?: AbortSignal;
  /** Not supported: must be absent, null or false. */
  logprobs?: boolean | null;
  /** Accepted and ignored. */
  user?: string;
}

export interface ChatCompletionRequest extends SamplingRequest {
  messages: ChatMessageParam[];
  tools?: FunctionTool[] | null;
  tool_choice?: ToolChoice | null;
  /** Accepted; at most one call is forced under tool_choice 'required'. */
  parallel_tool_calls?: boolean | null;
  response_format?: ResponseFormat | null;
  /** Extension: passed to the chat template (models with a thinking mode). */
  enable_thinking?: boolean | null;
}

export interface CompletionRequest extends SamplingRequest {
  /** Text, or token ids. */
  prompt: string | number[];
  /** Extension: constrain the text to JSON, as for chat. */
  response_format?: ResponseFormat | null;
  /** Return the prompt before the completion. */
  echo?: boolean | null;
}

// ---- responses ----

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'abort';

export interface CompletionUsage {
  prompt_tokens: number;
  /** Tokens the model sampled, an end token included. */
  completion_tokens: number;
  total_tokens: number;
  /** cached_tokens: prompt tokens whose KV entries were reused from the previous request. */
  prompt_tokens_details?: { cached_tokens: number };
}

/** Extension: a <tool_call> block the model wrote that is not a valid call (kept, not dropped). */
export interface ToolCallError {
  /** The block's text between the tags. */
  raw: string;
  error: string;
}

export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  /** Extension: the thinking text, when the model thought. */
  reasoning_content?: string | null;
  tool_calls?: ChatToolCall[];
  /** Extension: malformed tool-call blocks. */
  tool_call_errors?: ToolCallError[];
}

export interface ChatCompletionChoice {
  index: number;
  message: ChatCompletionMessage;
  finish_reason: FinishReason;
  logprobs: null;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatCompletionChoice[];
  usage: CompletionUsage;
  /** Extension: the seed that was used (the request's, or a random one). */
  seed: number;
}

export interface ChatCompletionChunkToolCall {
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

export interface ChatCompletionDelta {
  role?: 'assistant';
  content?: string | null;
  reasoning_content?: string | null;
  tool_calls?: ChatCompletionChunkToolCall[];
  tool_call_errors?: ToolCallError[];
}

export interface ChatCompletionChunkChoice {
  index: number;
  delta: ChatCompletionDelta;
  finish_reason: FinishReason | null;
  logprobs: null;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  /** Empty in the usage chunk (stream_options.include_usage). */
  choices: ChatCompletionChunkChoice[];
  /** Only in the last chunk, when stream_options.include_usage. */
  usage?: CompletionUsage | null;
}

export interface CompletionChoice {
  index: number;
  text: string;
  finish_reason: FinishReason;
  logprobs: null;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: CompletionChoice[];
  usage: CompletionUsage;
  /** Extension: the seed that was used. */
  seed: number;
}

export interface CompletionChunk {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: { index: number; text: string; finish_reason: FinishReason | null; logprobs: null }[];
  usage?: CompletionUsage | null;
}
