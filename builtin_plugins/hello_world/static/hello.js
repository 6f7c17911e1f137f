// hello_world: marks the page so tests and themes can see the plugin's script ran.
document.documentElement.dataset.helloWorld = "loaded";
