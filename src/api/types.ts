// Request, response and chunk shapes of the engine API, modelled on OpenAI's Chat Completions
// and (legacy) Completions. Fields marked "extension" are not OpenAI's.

// ---- chat: request ----

/** 'developer' is read as 'system'. */
export type ChatRole = 'developer' | 'system' | 'user' | 'assistant' | 'tool';

export interface TextContentPart {
  type: 'text';
  text: string;
}

/** In assistant history only: read as text. */
export interface RefusalContentPart {
  type: 'refusal';
  refusal: string;
}

/** Typed as OpenAI types it; refused at run time (no audio input). */
export interface InputAudioContentPart {
  type: 'input_audio';
  input_audio: { data: string; format: string };
}

/** Typed as OpenAI types it; refused at run time (no file input). */
export interface FileContentPart {
  type: 'file';
  file: { file_data?: string; file_id?: string; filename?: string };
}

/** Vision models: a data:, http(s): or blob: URL of a PNG/JPEG image (`detail` is accepted and ignored). */
export interface ImageContentPart {
  type: 'image_url';
  image_url: { url: string; detail?: 'auto' | 'low' | 'high' };
}

/** Extension, vision models: the image itself (Blob, ImageBitmap, ImageData in a browser; PNG/JPEG bytes as Uint8Array anywhere). */
export interface ImageObjectContentPart {
  type: 'image';
  image: Blob | ImageBitmap | ImageData | Uint8Array;
}

export type ChatContentPart = TextContentPart | ImageContentPart | ImageObjectContentPart | InputAudioContentPart | FileContentPart;

export interface ChatToolCall {
  id: string;
  type: 'function';
  /** `arguments` is a JSON text, as OpenAI sends it. */
  function: { name: string; arguments: string };
}

export interface SystemMessage {
  role: 'system' | 'developer';
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
  content?: string | (TextContentPart | RefusalContentPart)[] | null;
  /** Extension: an earlier turn's reasoning (templates may drop it). */
  reasoning_content?: string | null;
  /** An earlier refusal: read as text when content is empty. */
  refusal?: string | null;
  tool_calls?: ChatToolCall[] | AnyToolCall[];
  name?: string;
  /** OpenAI's; must be absent or null here. */
  audio?: { id: string } | null;
  /** The deprecated functions API: refused at run time (use tool_calls). */
  function_call?: { name: string; arguments: string } | null;
}

/** A tool call as the SDK types it (function or custom); only function calls are accepted at run time. */
export type AnyToolCall = ChatToolCall | { id: string; type: 'custom'; custom: { name: string; input: string } };

/** The deprecated `function` role: typed so SDK params fit, refused at run time (use role 'tool'). */
export interface FunctionMessage {
  role: 'function';
  content: string | null;
  name: string;
}

export interface ToolMessage {
  role: 'tool';
  content: string | TextContentPart[];
  /** The id of the assistant's tool call this answers. */
  tool_call_id: string;
}

export type ChatMessageParam = SystemMessage | UserMessage | AssistantMessage | ToolMessage | FunctionMessage;

export interface FunctionTool {
  type: 'function';
  function: {
    /** 1-64 characters of a-z, A-Z, 0-9, _ and -. */
    name: string;
    description?: string;
    /** A JSON schema for the arguments object. */
    parameters?: { [key: string]: unknown };
    strict?: boolean | null;
  };
}

/** A custom (free-text) tool as the SDK types it: refused at run time. */
export interface CustomTool {
  type: 'custom';
  custom: { name: string; description?: string; format?: unknown };
}

export type ToolChoice =
  | 'none'
  | 'auto'
  | 'required'
  | { type: 'function'; function: { name: string } }
  /** Typed as OpenAI's; refused at run time. */
  | { type: 'allowed_tools'; allowed_tools: { mode: 'auto' | 'required'; tools: Array<{ [key: string]: unknown }> } }
  | { type: 'custom'; custom: { name: string } };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; description?: string; schema?: { [key: string]: unknown }; strict?: boolean | null } };

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
  /** 1-16 choices, generated one after the other with seeds seed, seed+1, ... (the prompt's KV reused). */
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean; include_obfuscation?: boolean } | null;
  /** Cancels the request: create(), or the stream, rejects with AbortError (its `partial` holds the output so far). */
  signal?: AbortSignal;
  /** Accepted and ignored (see IGNORED_FIELDS). */
  user?: string;
}

/**
 * OpenAI fields that mean nothing for a local model: accepted and ignored (IGNORED_FIELDS in
 * validate.ts is the same list). modalities must be ['text'] and audio/prediction null when given.
 */
export interface IgnoredOpenAIFields {
  store?: boolean | null;
  metadata?: { [key: string]: string } | null;
  service_tier?: string | null;
  user?: string;
  safety_identifier?: string | null;
  prompt_cache_key?: string | null;
  prompt_cache_retention?: string | null;
  prompt_cache_options?: unknown;
  verbosity?: 'low' | 'medium' | 'high' | null;
  modalities?: Array<'text' | 'audio'> | null;
  audio?: unknown;
  prediction?: unknown;
  web_search_options?: unknown;
}

export interface ChatCompletionRequest extends SamplingRequest, IgnoredOpenAIFields {
  messages: ChatMessageParam[];
  /** Log-probabilities of the sampled tokens (computed on the GPU; choices[].logprobs). */
  logprobs?: boolean | null;
  /** 0-20 most likely alternatives per token; needs logprobs: true. */
  top_logprobs?: number | null;
  /** 'none' (or 'minimal') turns thinking off, any other effort on; enable_thinking wins when both are given. */
  reasoning_effort?: 'none' | 'minimal' | 'low' | 'medium' | 'high' | 'xhigh' | 'max' | null;
  tools?: (FunctionTool | CustomTool)[] | null;
  tool_choice?: ToolChoice | null;
  /** Accepted; at most one call is forced under tool_choice 'required'. */
  parallel_tool_calls?: boolean | null;
  response_format?: ResponseFormat | null;
  /** Extension: passed to the chat template (models with a thinking mode). */
  enable_thinking?: boolean | null;
  /** Extension (vLLM's spelling): only `enable_thinking`, read as the top-level field (which wins when both are given). */
  chat_template_kwargs?: { enable_thinking?: boolean | null } | null;
}

export interface CompletionRequest extends SamplingRequest {
  /** Text, or token ids (a list of one text or one id list is accepted too; larger batches are refused). */
  prompt: string | string[] | number[] | number[][] | null;
  /** 0-20: log-probabilities of the sampled tokens and this many alternatives (choices[].logprobs). */
  logprobs?: number | null;
  best_of?: number | null;
  suffix?: string | null;
  /** Extension: constrain the text to JSON, as for chat. */
  response_format?: ResponseFormat | null;
  /** Return the prompt before the completion. */
  echo?: boolean | null;
}

// ---- responses ----

/** One alternative of a chat token's logprobs: the token's text, natural-log probability, UTF-8 bytes. */
export interface TopLogprob {
  token: string;
  logprob: number;
  bytes: number[] | null;
}

/** A sampled token's entry in choices[].logprobs.content. */
export interface ChatCompletionTokenLogprob extends TopLogprob {
  top_logprobs: TopLogprob[];
}

/** choices[].logprobs of a chat completion (or of one chunk: the tokens of that delta). */
export interface ChatChoiceLogprobs {
  content: ChatCompletionTokenLogprob[] | null;
  refusal: null;
}

/** choices[].logprobs of a completion (or of one chunk). */
export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: number[];
  /** Per token: alternative text -> log p. */
  top_logprobs: Record<string, number>[];
  /** Character offset of each token in the choice's text. */
  text_offset: number[];
}

/** OpenAI's values (an abort is an AbortError, not a finish reason). */
export type FinishReason = 'stop' | 'length' | 'tool_calls';

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
  /** In a stream: the index of the call whose name and argument pieces were already sent (disregard them). */
  index?: number;
}

export interface ChatCompletionMessage {
  role: 'assistant';
  content: string | null;
  /** Always null: a local model has no refusal channel. */
  refusal: null;
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
  logprobs: ChatChoiceLogprobs | null;
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
  refusal?: null;
  reasoning_content?: string | null;
  tool_calls?: ChatCompletionChunkToolCall[];
  tool_call_errors?: ToolCallError[];
}

export interface ChatCompletionChunkChoice {
  index: number;
  delta: ChatCompletionDelta;
  finish_reason: FinishReason | null;
  logprobs: ChatChoiceLogprobs | null;
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
  finish_reason: 'stop' | 'length';
  logprobs: CompletionLogprobs | null;
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
  choices: { index: number; text: string; finish_reason: 'stop' | 'length' | null; logprobs: CompletionLogprobs | null }[];
  usage?: CompletionUsage | null;
}

/** What an aborted request had produced: AbortError.partial. */
export interface PartialOutput {
  /** Chat: the reply's content so far; completions: the text so far (echo included). */
  text: string;
  /** Chat: the thinking so far, when the model thought. */
  reasoning_content: string | null;
  usage: CompletionUsage;
}
