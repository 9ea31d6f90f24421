/** BroadcastChannel on which the engine worker announces each chat request it receives. */
export const REQUEST_CHANNEL = 'ernie-demo-requests';
